from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from practice.forms import PlainTextMixin
from work import roles
from work.models import DeadlineKind, ProcessTemplate, TemplateStep


class TemplateForm(PlainTextMixin, forms.ModelForm):
    class Meta:
        model = ProcessTemplate
        fields = ["name", "service", "period_kind"]


class StepForm(PlainTextMixin, forms.ModelForm):
    checklist_text = forms.CharField(
        label=_("Checklist"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One item per line."),
    )

    class Meta:
        model = TemplateStep
        fields = [
            "position",
            "title",
            "instructions",
            "assignee_kind",
            "role_key",
            "due_rule",
            "deadline_kind",
            "days",
            "blocks_next",
        ]

    def __init__(self, *args: Any, practice: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role_key"] = forms.ChoiceField(
            label=_("Team role"), required=False, choices=[("", "—"), *roles.role_choices()]
        )
        self.fields["deadline_kind"].queryset = DeadlineKind.objects.filter(practice=practice)  # type: ignore[attr-defined]
        self.fields["days"].widget.attrs.update(min=-366, max=366)
        self.initial.setdefault("checklist_text", "\n".join(self.instance.checklist or []))

    def clean_days(self) -> int:
        days = self.cleaned_data["days"]
        if not -366 <= days <= 366:
            raise forms.ValidationError(_("At most a year before or after."))
        return days

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("assignee_kind") == TemplateStep.Assignee.ROLE and not data.get("role_key"):
            self.add_error("role_key", _("Choose the team role that does this step."))
        if data.get("due_rule") == TemplateStep.DueRule.DEADLINE and not data.get("deadline_kind"):
            self.add_error("deadline_kind", _("Choose the deadline this step is due from."))
        return data

    def save(self, commit: bool = True) -> TemplateStep:
        step = super().save(commit=False)
        text = self.cleaned_data.get("checklist_text") or ""
        step.checklist = [line.strip() for line in text.splitlines() if line.strip()][:50]
        if step.assignee_kind != TemplateStep.Assignee.ROLE:
            step.role_key = ""
        if commit:
            step.save()
        return step


class SkipForm(PlainTextMixin, forms.Form):
    reason = forms.CharField(label=_("Why is this task skipped?"), max_length=300)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class VersionForm(PlainTextMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ExtensionForm(PlainTextMixin, forms.Form):
    deadline_kind = forms.ModelChoiceField(
        label=_("Deadline"), queryset=DeadlineKind.objects.none()
    )
    fiscal_year = forms.IntegerField(label=_("Fiscal year"), min_value=2000, max_value=2100)
    due_date = forms.DateField(
        label=_("New deadline"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args: Any, practice: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["deadline_kind"].queryset = DeadlineKind.objects.filter(practice=practice)  # type: ignore[attr-defined]

    def clean_due_date(self) -> Any:
        due = self.cleaned_data["due_date"]
        if not 2000 <= due.year <= 2100:
            raise forms.ValidationError(_("Enter a date between 2000 and 2100."))
        return due
