"""Forms validate and normalise; connections.services refuses what only it can judge (duplicates)."""

from __future__ import annotations

from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from connections.models import Connection
from practice.forms import PlainTextMixin
from relations.forms import DateInput
from relations.models import Relation

SUBJECT, OBJECT = "subject", "object"


def role_choices() -> list[tuple[str, object]]:
    """Each type in each direction as read from the relation being edited: "director of", "has director"."""
    choices: list[tuple[str, object]] = []
    for value in Connection.Type.values:
        forward, reverse = Connection.LABELS[value]
        if value == Connection.Type.OTHER:
            choices.append((f"{value}:{SUBJECT}", gettext_lazy("other (describe it below)")))
            continue
        choices.append((f"{value}:{SUBJECT}", forward))
        if value not in Connection.SYMMETRIC:
            choices.append((f"{value}:{OBJECT}", reverse))
    return choices


class ConnectionForm(PlainTextMixin, forms.Form):
    """Connect the relation whose page this is to another one of the practice.

    `other` comes from the picker's radio buttons (connections/tab.html#picker), whose search is a
    form of its own: with htmx it fetches the matches as one types, without JavaScript it reloads
    the page with them.
    """

    other = forms.UUIDField(
        label=gettext_lazy("Other relation"),
        error_messages={
            "required": gettext_lazy("Choose the other relation from the search results.")
        },
    )
    role = forms.ChoiceField(label=gettext_lazy("Connection"), choices=role_choices)
    start_date = forms.DateField(
        label=gettext_lazy("Start date"), required=False, widget=DateInput()
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Required for “other”."),
    )
    portal_access = forms.BooleanField(
        label=gettext_lazy("Portal access for this client"),
        required=False,
        help_text=gettext_lazy(
            "The contact sees this client's messages and shared documents in the portal."
        ),
    )

    def __init__(self, *args, relation: Relation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.relation = relation
        # Django's field template prints help_text unescaped, so the name is escaped here.
        self.fields["role"].help_text = mark_safe(  # noqa: S308
            _("How %(name)s relates to the other relation.")
            % {"name": conditional_escape(str(relation))}
        )
        self.other_relation: Relation | None = None

    def clean_other(self) -> Relation:
        # Looked up in this relation's practice only: an id from elsewhere is simply not found.
        other = (
            Relation.objects.filter(practice_id=self.relation.practice_id)
            .filter(public_id=self.cleaned_data["other"])
            .first()
        )
        if other is None:
            raise forms.ValidationError(_("Choose the other relation from the search results."))
        self.other_relation = other
        return other

    def clean(self) -> dict:
        super().clean()
        cleaned = self.cleaned_data
        role = cleaned.get("role")
        if role:
            type, _sep, side = role.partition(":")
            cleaned["type"] = type
            cleaned["subject_is_relation"] = side == SUBJECT
            cleaned["description"] = cleaned.get("description", "").strip()
            if type == Connection.Type.OTHER and not cleaned["description"]:
                self.add_error("description", _("Describe how the two are connected."))
        return cleaned


class EndConnectionForm(PlainTextMixin, forms.Form):
    end_date = forms.DateField(label=gettext_lazy("End date"), required=False, widget=DateInput())


class PortalAccessForm(PlainTextMixin, forms.Form):
    portal_access = forms.BooleanField(
        label=gettext_lazy("Portal access for this client"), required=False
    )
