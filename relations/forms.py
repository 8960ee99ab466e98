"""Forms validate and normalise (compact IBAN, formatted postcode); saving belongs to relations.services."""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, cast

import phonenumbers
from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.dates import MONTHS as MONTH_NAMES
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from practice.forms import PlainTextMixin
from relations import identifiers
from relations.countries import CODES, country_choices
from relations.identifiers import validate_dutch_postcode, validate_vat_number
from relations.models import (
    COMPANY_FIELDS,
    PRIVATE_FIELDS,
    Address,
    BankAccount,
    Relation,
    ServiceAgreement,
    TeamAssignment,
    TeamRole,
)

COMMON_FIELDS = ("email", "phone", "mobile", "website", "language", "notes")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$")
# By name in the user's language ("december"), not by number.
MONTHS = [(None, "—")] + [(m, MONTH_NAMES[m]) for m in range(1, 13)]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%Y-%m-%d")
        super().__init__(**kwargs)


class TelInput(forms.TextInput):
    """A phone keypad on a phone; no autocomplete: the number is the relation's, not the user's."""

    input_type = "tel"


# The phone country assumed for a number typed without one: the offices are Dutch.
PHONE_REGION = "NL"


class PhoneField(forms.CharField):
    """A phone number checked with phonenumbers and kept the way it is written in the Netherlands:
    a Dutch number in its national form ("020 123 4567", "06 12345678"), a foreign one in its
    international form ("+49 30 1234567"). The same number typed another way ("+31 20 1234567",
    "0031 (0)20-123 45 67") is the same value, so it is not a change."""

    widget = TelInput
    mobile = False
    # The value the relation holds: kept as it is while nobody changes it, even if it does not pass
    # (saved before this check, or imported), so that it never blocks editing another field.
    stored = ""

    @staticmethod
    def parse(value: str) -> phonenumbers.PhoneNumber | None:
        try:
            number = phonenumbers.parse(value, PHONE_REGION)
        except phonenumbers.NumberParseException:
            return None
        return number if phonenumbers.is_valid_number(number) else None

    def to_python(self, value):
        """The number in its one written form; what is not a number, as typed (validate says no)."""
        value = super().to_python(value)
        number = self.parse(value) if value else None
        if number is None:
            return value
        if phonenumbers.region_code_for_number(number) == PHONE_REGION:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    def has_changed(self, initial, data) -> bool:
        """Compared in the written form on both sides: a stored "020-1234567" is "020 123 4567"."""
        if self.disabled:
            return False
        return self.to_python(initial or "") != self.to_python(data)

    def validate(self, value):
        super().validate(value)
        if not value or value == self.stored:
            return
        number = self.parse(value)
        if number is None:
            raise forms.ValidationError(
                _("This is not a valid phone number (e.g. 020 123 4567 or +49 30 1234567)."),
                code="invalid_phone",
            )
        if (
            self.mobile
            and phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE
        ):
            raise forms.ValidationError(
                _("This is a landline number; enter it under Phone."), code="landline"
            )


class MobileField(PhoneField):
    mobile = True


class CountryField(forms.ChoiceField):
    """An ISO 3166-1 country, offered by its name in the user's language, stored as its code."""

    def __init__(self, *, max_length=None, empty_value="", **kwargs):
        kwargs.setdefault("choices", country_choices)
        super().__init__(**kwargs)

    def to_python(self, value):
        return super().to_python(value).strip().upper()


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
# Remembered in the page only as a keyed digest: the BSN is never written into a page it was not
# asked for, yet a change to it must be told apart from a change by someone else.
DIGESTED = frozenset({"bsn"})
# Compared without the separators people type: "020 222 2222" is "0202222222" is "020-222 22 22".
PHONE_FIELDS = frozenset({"phone", "mobile"})
COMPACT_FIELDS = frozenset({"iban", "bic", "postcode", "vat_number"})


def _digest(name: str, value: object) -> str:
    return salted_hmac(f"kring.loaded.{name}", str(value or ""), algorithm="sha256").hexdigest()


def _phone_key(value: str) -> str:
    value = re.sub(r"[\s().\-/]", "", value)
    if value.startswith("00"):
        value = "+" + value[2:]
    if value.startswith("+31"):
        value = "0" + value[3:]
    return value


def comparable(name: str, value: object) -> object:
    """A cleaned value as two people's edits are compared: written differently is not different."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = unicodedata.normalize("NFKC", value).replace("\r\n", "\n").strip()
        if name in PHONE_FIELDS:
            return _phone_key(value)
        if name in COMPACT_FIELDS:
            return re.sub(r"[\s.\-]", "", value).upper()
    return value


def _as_data(value: object) -> object:
    """A remembered (initial) value as a browser would send it back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value  # CheckboxInput reads True and False as they are
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass
class Merge:
    """Who changed what since the form was opened, each compared after the form's cleaning.

    `mine`: the fields this person changed; `theirs`: the fields saved by someone else meanwhile;
    `conflicts`: the fields both changed, to values that differ. Only those need a decision: the
    rest is this person's changes laid over the current record."""

    mine: set[str] = field(default_factory=set)
    theirs: set[str] = field(default_factory=set)
    conflicts: set[str] = field(default_factory=set)


if TYPE_CHECKING:  # what the mixin is mixed into, for the type checker; at run time a plain mixin
    _EditForm = forms.ModelForm[Any]
else:
    _EditForm = object


class RemembersLoaded(_EditForm):
    """An edit form that carries, in a hidden `loaded` field, the values it was opened with.

    So that a save can tell the fields this person changed from the fields someone else saved
    meanwhile: disjoint changes are merged, and a field both changed is the only conflict. Works
    without JavaScript: the snapshot is a plain hidden input. A form subclass says how to make a
    sibling of itself for another instance (`twin`)."""

    def twin(self, data, instance):  # pragma: no cover - each form defines it
        raise NotImplementedError

    def data_fields(self) -> list[str]:
        return [name for name, f in self.fields.items() if name not in FORM_ONLY and not f.disabled]

    def _initial_values(self) -> dict[str, object]:
        return {n: self.get_initial_for_field(self.fields[n], n) for n in self.data_fields()}

    def remembered_values(self) -> str:
        """The form's initial values (from its instance), as the hidden `loaded` field carries them."""
        values = {
            name: _digest(name, comparable(name, value)) if name in DIGESTED else value
            for name, value in self._initial_values().items()
        }
        return json.dumps(values, cls=DjangoJSONEncoder)

    def loaded_raw(self) -> dict[str, object] | None:
        """What the hidden `loaded` field says the form was opened with; None when not readable."""
        try:
            raw = json.loads(self.data.get(self.add_prefix("loaded")) or "")
        except (TypeError, ValueError, AttributeError):
            return None
        return raw if isinstance(raw, dict) else None

    def loaded_values(self) -> dict[str, object] | None:
        """The values the form was opened with, as Python values by field (digested fields left
        out); None when that is not known."""
        raw = self.loaded_raw()
        if raw is None:
            return None
        values = {}
        for name in self.data_fields():
            if name in DIGESTED or name not in raw:
                continue
            try:
                values[name] = self.fields[name].to_python(raw[name])
            except ValidationError:
                continue
        return values

    def _cleaned_comparable(self, raw: dict[str, object], instance) -> dict[str, object]:
        """`raw` (initial values) cleaned as this form cleans what a person types, then made
        comparable. A value today's rules refuse (older data) is compared as it is."""
        names = [n for n in self.data_fields() if n in raw]
        sibling = self.twin({n: _as_data(raw[n]) for n in names}, copy.copy(instance))
        sibling.full_clean()
        values = {}
        for name in names:
            if name in sibling.cleaned_data:
                value = sibling.cleaned_data[name]
            else:
                try:
                    value = self.fields[name].to_python(_as_data(raw[name]))
                except ValidationError:
                    value = raw[name]
            values[name] = comparable(name, value)
        return values

    def _keys(self, raw: dict[str, object], instance) -> dict[str, object]:
        """Comparable values by field, the digested ones as digests."""
        plain = {n: v for n, v in raw.items() if n not in DIGESTED}
        keys = self._cleaned_comparable(plain, instance)
        for name in DIGESTED & set(self.data_fields()):
            if name in raw:
                keys[name] = raw[name]
        return keys

    def merge_with(self, current, *, base_is_current: bool = False) -> Merge:
        """Compare this (valid) form with the record as it is now (`current`), both against the
        values the form was opened with. Unknown what it was opened with (`loaded` missing or
        unreadable): the current record is taken as the base when `base_is_current`, else every
        difference is a conflict."""
        names = self.data_fields()
        submitted = {n: comparable(n, self.cleaned_data.get(n)) for n in names}
        for name in DIGESTED & set(names):
            submitted[name] = _digest(name, submitted[name])
        now_raw = self.twin(None, current)._initial_values()
        now = self._keys(
            {n: _digest(n, comparable(n, v)) if n in DIGESTED else v for n, v in now_raw.items()},
            current,
        )
        loaded = None if base_is_current else self.loaded_raw()
        if loaded is None:
            differ = {n for n in names if submitted[n] != now.get(n)}
            if base_is_current:
                return Merge(mine=differ)
            return Merge(mine=differ, theirs=differ, conflicts=differ)
        base = self._keys(loaded, current)
        mine = {n for n in names if n not in base or submitted[n] != base[n]}
        theirs = {n for n in names if n not in base or now.get(n) != base[n]}
        conflicts = {n for n in mine & theirs if submitted[n] != now.get(n)}
        # Both changed it to the same value: nothing left to write, and no conflict.
        mine = {n for n in mine if submitted[n] != now.get(n)}
        return Merge(mine=mine, theirs=theirs, conflicts=conflicts)

    def show_conflict(self, current, merge: Merge) -> None:
        """Re-render after a conflict: this person's values for the fields they changed, the
        current (other person's) values for every other field, and the current record as what the
        form was opened with, so that the next save goes through. `conflicting` lists what the
        other person saved for each field both changed."""
        fresh = self.twin(None, current)
        # A bound form's data: the request's QueryDict (a dict subclass) or a dict; either copies
        # as a mutable one.
        data = cast("dict[str, Any]", self.data).copy()
        for name in self.data_fields():
            if name in merge.mine:
                continue
            value = _as_data(fresh.get_initial_for_field(fresh.fields[name], name))
            if isinstance(self.fields[name], forms.BooleanField):
                if value:
                    data[self.add_prefix(name)] = "on"
                else:
                    data.pop(self.add_prefix(name), None)
            else:
                data[self.add_prefix(name)] = value
        if "version" in self.fields:
            data[self.add_prefix("version")] = str(current.version)
        data[self.add_prefix("loaded")] = fresh.remembered_values()
        self.data = data
        self.conflicting = [
            (self[name].label, _shown(fresh, name))
            for name in self.data_fields()
            if name in merge.conflicts
        ]


def _shown(form: forms.BaseForm, name: str) -> object:
    """A field's value as a person reads it: a choice by its label, a checkbox as yes or no."""
    f = form.fields[name]
    value = form.get_initial_for_field(f, name)
    if name in DIGESTED:
        return _("(changed)")
    if isinstance(f, forms.BooleanField):
        return _("yes") if value else _("no")
    choices = getattr(f, "choices", None) or getattr(f.widget, "choices", None)
    if choices:
        labels = {str(k): v for k, v in choices}
        return labels.get("" if value is None else str(value), value)
    return value


class RelationForm(RemembersLoaded, PlainTextMixin, forms.ModelForm):
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
        field_classes = {"phone": PhoneField, "mobile": MobileField}
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
        for name in ("phone", "mobile"):
            self.fields[name].stored = getattr(self.instance, name)  # type: ignore[attr-defined]
        self.duplicates: list = []

    def twin(self, data, instance) -> RelationForm:
        return RelationForm(data, instance=instance, kind=instance.kind, entity=instance.entity)

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

    # The identifiers' rules and messages are relations.identifiers', shared with the ledger import.
    def clean_kvk_number(self) -> str:
        return identifiers.validate_kvk_number(self.cleaned_data.get("kvk_number", ""))

    def clean_establishment_number(self) -> str:
        return identifiers.validate_establishment_number(
            self.cleaned_data.get("establishment_number", "")
        )

    def clean_rsin(self) -> str:
        return identifiers.validate_rsin(self.cleaned_data.get("rsin", ""))

    def clean_bsn(self) -> str:
        return identifiers.validate_bsn(self.cleaned_data.get("bsn", ""))

    def clean_vat_number(self) -> str:
        return validate_vat_number(self.cleaned_data.get("vat_number") or "")

    def clean_sbi_code(self) -> str:
        return identifiers.validate_sbi_code(self.cleaned_data.get("sbi_code", ""))

    def clean_date_of_birth(self):
        value = self.cleaned_data.get("date_of_birth")
        if value and value > date.today():
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        if value and value.year < 1900:
            raise forms.ValidationError(_("Enter a date of birth after 1900."))
        return value

    def clean_founded_on(self):
        value = self.cleaned_data.get("founded_on")
        if value and value > timezone.localdate():
            raise forms.ValidationError(_("The founding date cannot be in the future."))
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


class AddressForm(RemembersLoaded, PlainTextMixin, forms.ModelForm):
    verbatim_fields = ("loaded",)
    # What the edit form was opened with: two people editing one address merge as a relation does.
    loaded = forms.CharField(widget=forms.HiddenInput, required=False, strip=False)

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
        field_classes = {"country": CountryField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.country
        if stored and stored not in CODES:
            # An old or imported code outside ISO 3166-1: shown, so that it is not silently replaced
            # by the first country of the list, and to be corrected before the address saves.
            unknown = _("%(code)s: not a known country, choose one") % {"code": stored}
            self.fields["country"].choices = [("", unknown), *country_choices()]
            self.initial["country"] = ""
        if self.instance.pk:
            self.fields["loaded"].initial = self.remembered_values()
        else:
            del self.fields["loaded"]

    def twin(self, data, instance) -> AddressForm:
        return AddressForm(data, instance=instance)

    def clean(self):
        cleaned = super().clean()
        code = (cleaned.get("postcode") or "").strip()
        if cleaned.get("country") == "NL":
            try:
                cleaned["postcode"] = validate_dutch_postcode(code)
            except forms.ValidationError as exc:
                self.add_error("postcode", exc)
        elif code and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 -]*", code):
            self.add_error(
                "postcode", _("A postcode holds letters, digits, spaces and dashes only.")
            )
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
        for name in ("iban", "bic"):
            field = self.fields[name]
            if isinstance(field, forms.CharField):
                field.max_length = None
            self.fields[name].validators = [
                v for v in self.fields[name].validators if not hasattr(v, "limit_value")
            ]
        self.duplicates: list[Relation] = []
        current = (
            relation.bank_accounts.filter(is_default=True).exclude(pk=self.instance.pk or 0).first()
        )
        if current is not None:
            # Taking the default from another account is a choice the person makes, never the
            # form's: not ticked, and the account it would be taken from named beside the box.
            if not self.instance.pk:
                self.initial["is_default"] = False
            self.fields["is_default"].help_text = _(
                "Ticking this makes it the default instead of %(iban)s."
            ) % {"iban": current.formatted_iban}

    def clean_iban(self) -> str:
        iban = identifiers.parse_iban(self.cleaned_data.get("iban") or "")
        own = self.relation.bank_accounts.filter(iban=iban.compact).exclude(
            pk=self.instance.pk or 0
        )
        if own.exists():
            raise forms.ValidationError(_("This relation already has this IBAN."))
        self._iban = iban
        return iban.compact

    def clean_bic(self) -> str:
        return identifiers.validate_bic(self.cleaned_data.get("bic") or "")

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


def member_label(user: User) -> str:
    name = user.get_full_name()
    other = user.email or user.get_username()
    return f"{name} ({other})" if name else other


class TeamMemberForm(PlainTextMixin, forms.Form):
    member: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        queryset=None, label=gettext_lazy("Team member")
    )
    # The office's own active roles (Kantoor → Teamrollen), in its order; posted by their key.
    role: forms.ModelChoiceField[TeamRole] = forms.ModelChoiceField(
        queryset=None, label=gettext_lazy("Role"), to_field_name="key"
    )

    def __init__(self, *args, practice, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = TeamRole.objects.filter(practice=practice).active()
        self.fields["role"].label_from_instance = lambda role: role.label
        self.fields["role"].empty_label = None
        if not self.is_bound:
            self.initial.setdefault("role", TeamAssignment.Role.ACCOUNTANT.value)
        # Only the practice's own people: another office's staff are not offered, nor accepted.
        users = (
            # A deactivated member is not offered (their past places still show on history).
            User.objects.filter(
                memberships__practice=practice, memberships__deactivated_at=None
            ).order_by("first_name", "last_name", "username")
        )
        self.fields["member"].queryset = users
        # The e-mail (or user name) beside the name tells two "Jan de Vries"es apart.
        self.fields["member"].label_from_instance = member_label


def _relation_field(name: str, **kwargs) -> forms.Field:
    """The model field's form field (its label and length), as the edit form has it."""
    model_field = Relation._meta.get_field(name)
    assert isinstance(model_field, models.Field)  # a column of its own, not a relation's reverse
    field = model_field.formfield(**kwargs)
    assert field is not None
    return field


class ConvertToPrivateForm(PlainTextMixin, forms.Form):
    """Company → private person: the person's names, asked for on the confirmation step."""

    first_name = _relation_field("first_name")
    name_prefix = _relation_field("name_prefix")
    last_name = _relation_field("last_name", required=True)

    def clean_last_name(self) -> str:
        value = self.cleaned_data["last_name"].strip()
        if not value:
            raise ValidationError(_("A private person needs a last name."))
        return value


class ConvertToCompanyForm(PlainTextMixin, forms.Form):
    """Private person → company: the company's legal name, asked for on the confirmation step."""

    legal_name = _relation_field("legal_name", required=True)

    def clean_legal_name(self) -> str:
        value = self.cleaned_data["legal_name"].strip()
        if not value:
            raise ValidationError(_("A company needs a legal name."))
        return value
