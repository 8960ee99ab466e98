from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from collab.models import BODY_MAX, SUBJECT_MAX, Message
from practice.forms import PlainTextMixin
from relations.models import Relation


class MessageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"#{obj.pk}"  # never a quote of the text


class ClientChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


VISIBLE, INTERNAL = "visible", "internal"
VISIBILITY = [(VISIBLE, _("Visible to the client")), (INTERNAL, _("Internal note"))]


def _body() -> forms.CharField:
    return forms.CharField(
        label=_("Message"),
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 4, "data-send-on-ctrl-enter": ""}),
    )


class StaffMessageForm(PlainTextMixin, forms.Form):
    body = _body()
    visibility = forms.ChoiceField(
        label=_("Who sees it"), choices=VISIBILITY, initial=VISIBLE, widget=forms.RadioSelect
    )
    reply_to = MessageChoiceField(
        label=_("In reply to"), queryset=Message.objects.none(), required=False
    )

    def __init__(self, *args: Any, messages: QuerySet[Message] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["reply_to"]
        assert isinstance(field, forms.ModelChoiceField)
        if messages is None:
            del self.fields["reply_to"]
        else:
            field.queryset = messages

    @property
    def internal(self) -> bool:
        return self.cleaned_data.get("visibility") == INTERNAL


class StaffThreadForm(StaffMessageForm):
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX)
    field_order = ["subject", "body", "visibility"]


class ContactMessageForm(PlainTextMixin, forms.Form):
    body = _body()


class ContactThreadForm(PlainTextMixin, forms.Form):
    client = ClientChoiceField(
        label=_("Client"), queryset=Relation.objects.none(), to_field_name="public_id"
    )
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX)
    body = _body()

    def __init__(self, *args: Any, clients: QuerySet[Relation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["client"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = clients
