"""What every form of Kring shares: text fields refuse characters that no person types.

NUL is refused by PostgreSQL in text columns (Django's CharField already refuses it); the other C0 and
C1 control characters, lone surrogates and noncharacters cannot be written into the ledger's XML at
all (XML 1.0), so a client holding one could never be pushed; and the bidirectional embedding,
override and isolate controls make a name display as something other than what it is ("Trojan
Source"). They are refused with a field error rather than stored or silently dropped, so the person
sees what was wrong with a pasted value. Zero-width joiners and the plain direction marks stay: names
in Persian and emoji sequences need them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# C0 except tab, line feed and carriage return; DEL and C1; surrogates; the bidi embeddings, overrides
# and isolates; the noncharacters U+FDD0 to U+FDEF and U+xxFFFE/U+xxFFFF of every plane.
_NONCHARACTERS = "".join(
    f"{chr(plane + 0xFFFE)}{chr(plane + 0xFFFF)}" for plane in range(0, 0x110000, 0x10000)
)
_FORBIDDEN_ANYWHERE = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufdd0-\ufdef"
    + _NONCHARACTERS
)
MULTI_LINE_FORBIDDEN = re.compile(f"[{_FORBIDDEN_ANYWHERE}]")
# A one-line field has no place for a tab or a line break either (a pasted spreadsheet cell).
SINGLE_LINE_FORBIDDEN = re.compile(f"[\t\n\r{_FORBIDDEN_ANYWHERE}]")


@deconstructible
class PlainTextValidator:
    """Refuses control, bidi-override, surrogate and noncharacter code points, naming the first."""

    code = "control_character"

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, value: Any) -> None:
        if not isinstance(value, str):  # a UUIDField's UUID, say: nothing typed is left to check
            return
        pattern = MULTI_LINE_FORBIDDEN if self.multiline else SINGLE_LINE_FORBIDDEN
        found = pattern.search(value)
        if found:
            raise ValidationError(
                _(
                    "Remove the invisible control character (U+%(code)s) from this text; "
                    "it is often left behind by copying and pasting."
                ),
                code=self.code,
                params={"code": f"{ord(found.group()):04X}"},
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlainTextValidator) and other.multiline == self.multiline


if TYPE_CHECKING:  # what the mixins are mixed into, for the type checker; at run time plain mixins
    _Form = forms.BaseForm
else:
    _Form = object


class FriendlyErrorsMixin(_Form):
    """Each complaint once, and the first field that has one focused (`autofocus`: no script needed).

    A ModelForm checks the model too (`Model.clean`), which repeats what the form already said about
    a field ("a company needs a name" twice; "required" and "a contact needs an e-mail address"): a
    field the form found wrong keeps the form's error only. The error summary at the top of a form
    (templates/_error_summary.html) links to each field.
    """

    _errors: Any  # BaseForm's private error dict, not in the stubs

    def _update_errors(self, errors: ValidationError) -> None:
        if hasattr(errors, "error_dict"):
            kept = {
                name: messages
                for name, messages in errors.error_dict.items()
                if name == NON_FIELD_ERRORS or name not in self._errors
            }
            if not kept:
                return
            errors = ValidationError(kept)
        super()._update_errors(errors)  # type: ignore[misc]  # private in BaseForm, not in the stubs

    def full_clean(self) -> None:
        super().full_clean()
        if not self._errors:
            return
        first = next(
            (
                name
                for name, field in self.fields.items()
                if name in self._errors and not field.widget.is_hidden and not field.disabled
            ),
            None,
        )
        if first is None:
            return
        for field in self.fields.values():
            field.widget.attrs.pop("autofocus", None)
        self.fields[first].widget.attrs["autofocus"] = True


class PlainTextMixin(FriendlyErrorsMixin):
    """Adds PlainTextValidator to every text field of the form (a Textarea may hold line breaks).

    `verbatim_fields` names the fields taken exactly as typed, such as passwords. Every form of Kring
    has it, and with it FriendlyErrorsMixin.
    """

    verbatim_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if isinstance(field, forms.CharField) and name not in self.verbatim_fields:
                multiline = isinstance(field.widget, forms.Textarea)
                field.validators.append(PlainTextValidator(multiline=multiline))


class PlainTextModelForm(PlainTextMixin, forms.ModelForm):
    """The base of the admin's forms: the same refusal of invisible characters as every other form."""
