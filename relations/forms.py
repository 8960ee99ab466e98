"""Forms validate and normalise (compact IBAN, formatted postcode); saving belongs to relations.services."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date

import schwifty
import schwifty.exceptions
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat
from stdnum.nl import bsn, postcode

from practice.forms import PlainTextMixin
from relations.models import (
    COMPANY_FIELDS,
    PRIVATE_FIELDS,
    Address,
    BankAccount,
    Relation,
    ServiceAgreement,
    TeamAssignment,
)

COMMON_FIELDS = ("email", "phone", "mobile", "website", "language", "notes")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$")
MONTHS = [(None, "—")] + [(m, date(2000, m, 1).strftime("%m")) for m in range(1, 13)]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%Y-%m-%d")
        super().__init__(**kwargs)


def _digits(value: str) -> str:
    """Separators dropped; full-width digits (typed with an East Asian input method) made 0-9."""
    return re.sub(r"[\s.\-]", "", unicodedata.normalize("NFKC", value or ""))


def _ascii_digits(count: str, value: str) -> bool:
    """`count` digits 0-9, as "8" or "2,6". Not \\d: it also matches Arabic-Indic and full-width
    digits, which the ledger and the duplicate check (by KvK number) would take for other numbers."""
    return re.fullmatch(rf"[0-9]{{{count}}}", value) is not None


def validate_elfproef(value: str, label: str) -> str:
    """BSN and RSIN share the eleven-test; stdnum's BSN check applies to both."""
    try:
        return bsn.validate(value)
    except stdnum_errors.ValidationError as exc:
        raise forms.ValidationError(
            _("This is not a valid %(label)s: %(reason)s")
            % {"label": label, "reason": _elfproef_reason(exc)}
        ) from exc


def validate_vat_number(raw: str) -> str:
    """The btw-id as the edit form takes it (compact, NL added to bare digits), or the form's error.
    The ledger import checks imported data with the same rule (sync.importer)."""
    value = (raw or "").strip().upper().replace(" ", "").replace(".", "")
    if not value:
        return ""
    if value[:2].isdigit():
        value = "NL" + value
    try:
        return vat.validate(value)
    except stdnum_errors.ValidationError as exc:
        raise forms.ValidationError(
            _("This is not a valid VAT number (e.g. NL123456789B01).")
        ) from exc


def validate_dutch_postcode(raw: str) -> str:
    """A Dutch postcode as the address form takes it ("1234 AB"), or the form's error."""
    code = (raw or "").strip()
    if not code:
        raise forms.ValidationError(_("A Dutch address needs a postcode."))
    try:
        return postcode.validate(code)
    except stdnum_errors.ValidationError as exc:
        raise forms.ValidationError(_("A Dutch postcode looks like 1234 AB.")) from exc


def _elfproef_reason(exc: Exception) -> str:
    if isinstance(exc, stdnum_errors.InvalidLength):
        return _("it must have 9 digits")
    if isinstance(exc, stdnum_errors.InvalidFormat):
        return _("it may contain digits only")
    return _("the check digit does not match (eleven-test)")


# Numbers typed the way they are printed ("1234 5678", "1112.22.333"): the column's length is held by
# the model's validation of the compact value, the form only caps what may be typed.
TYPED_WITH_SEPARATORS = (
    "kvk_number",
    "establishment_number",
    "rsin",
    "vat_number",
    "sbi_code",
    "bsn",
)
TYPED_MAX_LENGTH = 32


def _allow_separators(field: forms.Field) -> None:
    field.validators = [v for v in field.validators if not isinstance(v, MaxLengthValidator)]
    field.validators.append(MaxLengthValidator(TYPED_MAX_LENGTH))
    field.max_length = TYPED_MAX_LENGTH  # type: ignore[attr-defined]
    field.widget.attrs["maxlength"] = str(TYPED_MAX_LENGTH)


# The edit form's own bookkeeping, not data of the relation.
FORM_ONLY = frozenset({"version", "loaded", "confirm_duplicates"})
# Not part of the values an edit form remembers having loaded: the bookkeeping, and the BSN, which is
# never written into a page it was not asked for.
NOT_REMEMBERED = FORM_ONLY | {"bsn"}


class RelationForm(PlainTextMixin, forms.ModelForm):
    """The master data of one relation; which fields show depends on its kind and type."""

    verbatim_fields = ("loaded",)  # JSON the form wrote itself; read defensively, never validated
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # The values the edit form was opened with, so that after a conflict the fields the person did
    # not touch can take the other person's values instead of silently reverting them on the next save.
    loaded = forms.CharField(widget=forms.HiddenInput, required=False, strip=False)
    confirm_duplicates = forms.BooleanField(
        required=False,
        label=gettext_lazy("Save anyway: this is not a duplicate"),
    )

    class Meta:
        model = Relation
        fields = ("client_code", *COMPANY_FIELDS, *PRIVATE_FIELDS, *COMMON_FIELDS)
        widgets = {
            "founded_on": DateInput(),
            "date_of_birth": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "fiscal_year_end_month": forms.Select(choices=MONTHS),
        }

    def __init__(self, *args, kind: str, entity: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.kind = kind
        self.instance.entity = entity
        drop = PRIVATE_FIELDS if entity == Relation.Entity.COMPANY else COMPANY_FIELDS
        for name in drop:
            del self.fields[name]
        if kind == Relation.Kind.CONTACT:
            del self.fields["client_code"]
            self.fields["email"].required = True
        else:
            code = self.fields["client_code"]
            code.required = bool(self.instance.pk)
            code.help_text = _("Leave empty to take the next number of the practice.")
            if self.instance.code_frozen:
                code.disabled = True
                code.help_text = _("Frozen: the client is in the ledger under this code.")
        if entity == Relation.Entity.COMPANY:
            self.fields["legal_name"].help_text = _("As registered with the KvK.")
        else:
            self.fields["last_name"].required = True
        if not self.instance.pk:
            del self.fields["version"]
            del self.fields["loaded"]
        else:
            self.fields["version"].initial = self.instance.version
            self.fields["loaded"].initial = self.remembered_values()
        for name in TYPED_WITH_SEPARATORS:
            if name in self.fields:
                _allow_separators(self.fields[name])
        self.duplicates: list = []

    def changed_fields(self) -> list[str]:
        """The relation's fields this form changed (its own bookkeeping left out)."""
        return [name for name in self.changed_data if name not in FORM_ONLY]

    def remembered_values(self) -> str:
        """The form's initial values (from its instance), as the hidden `loaded` field carries them."""
        values = {
            name: self.get_initial_for_field(field, name)
            for name, field in self.fields.items()
            if name not in NOT_REMEMBERED
        }
        return json.dumps(values, cls=DjangoJSONEncoder)

    def loaded_values(self) -> dict[str, object] | None:
        """The values the form was opened with (as Python values, by field); None when that is not
        known: no or unreadable `loaded` value."""
        try:
            raw = json.loads(self.data.get(self.add_prefix("loaded")) or "")
        except (TypeError, ValueError):
            return None
        if not isinstance(raw, dict):
            return None
        values = {}
        for name, field in self.fields.items():
            if name in NOT_REMEMBERED or name not in raw:
                continue
            try:
                values[name] = field.to_python(raw[name])
            except ValidationError:
                continue  # unknown, so treated as changed
        return values

    def changed_since_loaded(self) -> set[str] | None:
        """The fields the person changed compared with the values the form was opened with; None
        when that is not known."""
        loaded = self.loaded_values()
        if loaded is None:
            return None
        return {
            name
            for name, field in self.fields.items()
            if name not in NOT_REMEMBERED
            and not field.disabled
            and (name not in loaded or field.has_changed(loaded[name], self[name].data))
        }

    # The field order of a company and of a private person.
    def field_groups(self) -> list[tuple[str, list]]:
        groups = []
        if self.instance.entity == Relation.Entity.COMPANY:
            groups.append((_("Company"), [n for n in COMPANY_FIELDS if n in self.fields]))
        else:
            groups.append((_("Person"), [n for n in PRIVATE_FIELDS if n in self.fields]))
        contact = [n for n in ("client_code", *COMMON_FIELDS) if n in self.fields]
        groups.append((_("Contact details"), contact))
        return [(title, [self[n] for n in names]) for title, names in groups]

    def clean_client_code(self) -> str:
        code = (self.cleaned_data.get("client_code") or "").strip()
        if code and not CODE_PATTERN.match(code):
            raise forms.ValidationError(
                _("Use up to 16 letters, digits, dots, dashes or underscores.")
            )
        return code

    def clean_kvk_number(self) -> str:
        value = _digits(self.cleaned_data.get("kvk_number", ""))
        if value and not _ascii_digits("8", value):
            raise forms.ValidationError(_("A KvK number has exactly 8 digits."))
        return value

    def clean_establishment_number(self) -> str:
        value = _digits(self.cleaned_data.get("establishment_number", ""))
        if value and not _ascii_digits("12", value):
            raise forms.ValidationError(_("An establishment number has exactly 12 digits."))
        return value

    def clean_rsin(self) -> str:
        value = _digits(self.cleaned_data.get("rsin", ""))
        return validate_elfproef(value, "RSIN") if value else ""

    def clean_bsn(self) -> str:
        value = _digits(self.cleaned_data.get("bsn", ""))
        return validate_elfproef(value, "BSN") if value else ""

    def clean_vat_number(self) -> str:
        return validate_vat_number(self.cleaned_data.get("vat_number") or "")

    def clean_sbi_code(self) -> str:
        value = _digits(self.cleaned_data.get("sbi_code", ""))
        if value and not _ascii_digits("2,6", value):
            raise forms.ValidationError(_("An SBI code has 2 to 6 digits."))
        return value

    def clean_date_of_birth(self):
        value = self.cleaned_data.get("date_of_birth")
        if value and value > date.today():
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        if value and value.year < 1900:
            raise forms.ValidationError(_("Enter a date of birth after 1900."))
        return value

    def clean_fiscal_year_end_month(self):
        value = self.cleaned_data.get("fiscal_year_end_month")
        if value is not None and not 1 <= value <= 12:
            raise forms.ValidationError(_("Choose a month from 1 to 12."))
        return value

    def clean(self):
        cleaned = super().clean()
        self._tolerate_unchanged_values(cleaned)
        if self.instance.entity == Relation.Entity.COMPANY and not (
            cleaned.get("legal_name") or cleaned.get("trade_name")
        ):
            self.add_error("legal_name", _("A company needs a legal name or a trade name."))
        if self.instance.entity == Relation.Entity.PRIVATE:
            self._check_name_length(cleaned)
        return cleaned

    def _tolerate_unchanged_values(self, cleaned: dict) -> None:
        """Only a changed value must be valid: a stored value the rules now refuse (a legacy btw-id
        taken in from the ledger) that the edit leaves as it is does not block the save; it is
        kept, and `warnings` names it, (field name, label, messages)."""
        self.warnings: list[tuple[str, str, list[str]]] = []
        if self.instance.pk is None:
            return
        for name in list(self._errors):
            field = self.fields.get(name)
            if field is None or name in FORM_ONLY or field.disabled:
                continue
            stored = getattr(self.instance, name, None)
            if not stored or field.has_changed(
                self.get_initial_for_field(field, name), self[name].data
            ):
                continue
            self.warnings.append((name, str(field.label), list(self._errors.pop(name))))
            cleaned[name] = stored

    def _check_name_length(self, cleaned: dict) -> None:
        """Each part fits its column, but the name they make together must fit `display_name`."""
        parts = {
            name: cleaned.get(name) or ""
            for name in ("initials", "first_name", "name_prefix", "last_name")
        }
        name = Relation(entity=Relation.Entity.PRIVATE, **parts).compose_display_name()
        limit = Relation._meta.get_field("display_name").max_length
        if limit is not None and len(name) > limit:
            self.add_error(
                "last_name",
                _(
                    "First name, prefix and last name together have %(length)s characters; "
                    "shorten them to at most %(limit)s."
                )
                % {"length": len(name), "limit": limit},
            )


class AddressForm(PlainTextMixin, forms.ModelForm):
    class Meta:
        model = Address
        fields = (
            "type",
            "street",
            "house_number",
            "house_number_addition",
            "postcode",
            "city",
            "country",
            "is_default",
        )

    def clean_country(self) -> str:
        value = (self.cleaned_data.get("country") or "").strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", value):
            raise forms.ValidationError(_("Use the two-letter country code, e.g. NL, BE or DE."))
        return value

    def clean(self):
        cleaned = super().clean()
        code = (cleaned.get("postcode") or "").strip()
        if cleaned.get("country") == "NL":
            try:
                cleaned["postcode"] = validate_dutch_postcode(code)
            except forms.ValidationError as exc:
                self.add_error("postcode", exc)
        else:
            cleaned["postcode"] = code.upper()
        return cleaned


class BankAccountForm(PlainTextMixin, forms.ModelForm):
    confirm_duplicates = forms.BooleanField(
        required=False, label=gettext_lazy("Save anyway: this is not a duplicate")
    )

    class Meta:
        model = BankAccount
        fields = ("iban", "bic", "holder", "is_default")
        help_texts = {"holder": gettext_lazy("At most 40 characters: the ledger's limit.")}

    def __init__(self, *args, relation: Relation, **kwargs):
        super().__init__(*args, **kwargs)
        self.relation = relation
        # Typed with spaces ("NL91 ABNA 0417 1643 00", "ABNANL2A XXX"); the compact form is checked.
        self.fields["iban"].max_length = None
        self.fields["bic"].max_length = None
        for name in ("iban", "bic"):
            self.fields[name].validators = [
                v for v in self.fields[name].validators if not hasattr(v, "limit_value")
            ]
        self.duplicates: list[Relation] = []

    def clean_iban(self) -> str:
        raw = self.cleaned_data.get("iban") or ""
        try:
            iban = schwifty.IBAN(raw)
        except (schwifty.exceptions.SchwiftyException, ValueError) as exc:
            raise forms.ValidationError(_("This is not a valid IBAN.")) from exc
        own = self.relation.bank_accounts.filter(iban=iban.compact).exclude(
            pk=self.instance.pk or 0
        )
        if own.exists():
            raise forms.ValidationError(_("This relation already has this IBAN."))
        self._iban = iban
        return iban.compact

    def clean_bic(self) -> str:
        raw = (self.cleaned_data.get("bic") or "").strip().upper().replace(" ", "")
        if not raw:
            return ""
        try:
            return schwifty.BIC(raw).compact
        except (schwifty.exceptions.SchwiftyException, ValueError) as exc:
            raise forms.ValidationError(_("This is not a valid BIC.")) from exc

    def clean(self):
        cleaned = super().clean()
        iban = getattr(self, "_iban", None)
        if iban is not None:
            # Filled in from the IBAN where the bank registry knows it (all Dutch banks).
            if iban.bic is not None and not cleaned.get("bic"):
                cleaned["bic"] = iban.bic.compact
            self.instance.bank_name = iban.bank_name or ""
            if not cleaned.get("confirm_duplicates"):
                # Another relation of the practice with this IBAN: flag it, let the person decide.
                self.duplicates = list(
                    Relation.objects.filter(
                        practice_id=self.relation.practice_id, bank_accounts__iban=iban.compact
                    )
                    .exclude(pk=self.relation.pk)
                    .distinct()[:3]
                )
                if self.duplicates:
                    self.add_error(
                        "iban",
                        _("Another relation has this IBAN; tick the box below if that is right."),
                    )
        return cleaned


class ServiceAgreementForm(PlainTextMixin, forms.ModelForm):
    class Meta:
        model = ServiceAgreement
        fields = ("service", "start_date", "end_date", "notes")
        widgets = {
            "start_date": DateInput(),
            "end_date": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The end date cannot be before the start date."))
        return cleaned


class TeamMemberForm(PlainTextMixin, forms.Form):
    member = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Team member"))
    role = forms.ChoiceField(
        choices=TeamAssignment.Role.choices,
        label=gettext_lazy("Role"),
        initial=TeamAssignment.Role.ACCOUNTANT,
    )

    def __init__(self, *args, practice, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the practice's own people: another office's staff are not offered, nor accepted.
        users = (
            get_user_model()
            .objects.filter(memberships__practice=practice)
            .order_by("first_name", "last_name", "username")
        )
        self.fields["member"].queryset = users
        self.fields["member"].label_from_instance = lambda u: u.get_full_name() or u.get_username()
