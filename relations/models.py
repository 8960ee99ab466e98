from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, NoReturn

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, F, OuterRef, Q, Subquery, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from practice.models import Practice
from relations.countries import country_name
from relations.text import fold, mask_bsn

# Notes are a memo on the relation, not its file: 10,000 characters is some four pages of A4, far more
# than a note needs, and small enough that a page, an export row and the timeline stay quick to show.
NOTES_MAX_LENGTH = 10_000

# The fields whose change the ledger must hear about (DESIGN §5): bumping `ledger_version` in the same
# transaction is the outbox that `sync` drains.
LEDGER_FIELDS = frozenset(
    {"kind", "display_name", "client_code", "vat_number", "kvk_number", "email", "website"}
)
COMPANY_FIELDS = (
    "legal_name",
    "trade_name",
    "legal_form",
    "kvk_number",
    "establishment_number",
    "rsin",
    "vat_number",
    "sbi_code",
    "founded_on",
    "fiscal_year_end_month",
)
PRIVATE_FIELDS = (
    "salutation",
    "initials",
    "first_name",
    "name_prefix",
    "last_name",
    "date_of_birth",
    "bsn",
)


# What the list filters on besides the practice; carried in its sort indexes (see Relation.Meta).
LIST_FILTER_COLUMNS = ["archived_at", "kind", "entity"]


class PortalState(models.TextChoices):
    NONE = "none", _("Not invited")
    PENDING = "pending", _("Invited")
    ACCEPTED = "accepted", _("Has access")
    REVOKED = "revoked", _("Revoked")


class RelationsAreNeverDeleted(Exception):
    """Raised by any attempt to delete a relation: relations are archived, never deleted (DESIGN §3)."""


# A search word this short matches the start of a word only (RelationQuerySet.search).
SHORT_WORD = 2


class RelationQuerySet(models.QuerySet["Relation"]):
    def delete(self) -> NoReturn:
        raise RelationsAreNeverDeleted("Relations are archived, never deleted.")

    # Django's flags on a method (templates never call it; managers do not copy it): function
    # attributes, which the type checker does not model.
    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]

    def for_practice(self, practice: Practice) -> RelationQuerySet:
        return self.filter(practice=practice)

    def active(self) -> RelationQuerySet:
        return self.filter(archived_at__isnull=True)

    def archived(self) -> RelationQuerySet:
        return self.filter(archived_at__isnull=False)

    def clients(self) -> RelationQuerySet:
        return self.filter(kind=Relation.Kind.CLIENT)

    def contacts(self) -> RelationQuerySet:
        return self.filter(kind=Relation.Kind.CONTACT)

    def companies(self) -> RelationQuerySet:
        return self.filter(entity=Relation.Entity.COMPANY)

    def private_persons(self) -> RelationQuerySet:
        return self.filter(entity=Relation.Entity.PRIVATE)

    def search(self, query: str) -> RelationQuerySet:
        """Every word must occur in name, code, e-mail, city or KvK, case- and accent-blind.

        `search_text` holds those values folded; on PostgreSQL a trigram GIN index serves the LIKE.
        A word of one or two letters (SHORT_WORD) must start a word there ("ja" finds Jansen and
        Jan, not Hajar): such a word has no trigram of its own, so "contains" made PostgreSQL read
        the whole practice, while the start of a word is a trigram the index has (" ja").
        """
        qs = self
        for word in fold(query).split():
            if len(word) <= SHORT_WORD:
                qs = qs.filter(
                    Q(search_text__startswith=word) | Q(search_text__contains=f" {word}")
                )
            else:
                qs = qs.filter(search_text__contains=word)
        return qs


class Relation(models.Model):
    class Kind(models.TextChoices):
        CLIENT = "client", _("Client")
        CONTACT = "contact", _("Contact")

    class Entity(models.TextChoices):
        COMPANY = "company", _("Company")
        PRIVATE = "private", _("Private person")

    class LegalForm(models.TextChoices):
        BV = "bv", _("BV (private limited company)")
        NV = "nv", _("NV (public limited company)")
        EENMANSZAAK = "eenmanszaak", _("Sole proprietorship (eenmanszaak)")
        VOF = "vof", _("General partnership (VOF)")
        MAATSCHAP = "maatschap", _("Partnership (maatschap)")
        CV = "cv", _("Limited partnership (CV)")
        STICHTING = "stichting", _("Foundation (stichting)")
        VERENIGING = "vereniging", _("Association (vereniging)")
        COOPERATIE = "cooperatie", _("Cooperative (coöperatie)")
        OTHER = "other", _("Other")

    class Salutation(models.TextChoices):
        MR = "mr", _("Mr")
        MRS = "mrs", _("Mrs")
        NEUTRAL = "neutral", _("Neutral")

    class Language(models.TextChoices):
        NL = "nl", _("Dutch")
        EN = "en", _("English")

    practice = models.ForeignKey(
        Practice, on_delete=models.PROTECT, related_name="relations", verbose_name=_("practice")
    )
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    entity = models.CharField(_("type"), max_length=8, choices=Entity.choices)
    display_name = models.CharField(_("name"), max_length=200, editable=False)
    client_code = models.CharField(_("client code"), max_length=16, blank=True, default="")
    code_frozen = models.BooleanField(
        _("code frozen"),
        default=False,
        help_text=_(
            "Set once the client has been pushed to the ledger; the code can no longer change."
        ),
    )

    email = models.EmailField(_("e-mail"), blank=True, default="")
    phone = models.CharField(_("phone"), max_length=32, blank=True, default="")
    mobile = models.CharField(_("mobile"), max_length=32, blank=True, default="")
    website = models.URLField(_("website"), blank=True, default="")
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.NL
    )
    notes = models.TextField(_("notes"), max_length=NOTES_MAX_LENGTH, blank=True, default="")

    # Company master data.
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True, default="")
    trade_name = models.CharField(_("trade name"), max_length=200, blank=True, default="")
    legal_form = models.CharField(
        _("legal form"), max_length=16, choices=LegalForm.choices, blank=True, default=""
    )
    kvk_number = models.CharField(_("KvK number"), max_length=8, blank=True, default="")
    establishment_number = models.CharField(
        _("establishment number"), max_length=12, blank=True, default=""
    )
    rsin = models.CharField(_("RSIN"), max_length=9, blank=True, default="")
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True, default="")
    sbi_code = models.CharField(_("SBI code"), max_length=6, blank=True, default="")
    founded_on = models.DateField(_("founded on"), null=True, blank=True)
    fiscal_year_end_month = models.PositiveSmallIntegerField(
        _("fiscal year ends in month"), null=True, blank=True
    )

    # Private-person master data.
    salutation = models.CharField(
        _("salutation"), max_length=8, choices=Salutation.choices, blank=True, default=""
    )
    initials = models.CharField(_("initials"), max_length=20, blank=True, default="")
    first_name = models.CharField(_("first name"), max_length=100, blank=True, default="")
    name_prefix = models.CharField(_("prefix"), max_length=20, blank=True, default="")
    last_name = models.CharField(_("last name"), max_length=100, blank=True, default="")
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    bsn = models.CharField(_("BSN"), max_length=9, blank=True, default="")

    # Kept by the portal app in the same transaction as its invitations, so that the list can show
    # each contact's state without the relations app knowing the portal (imports run downwards).
    portal_state = models.CharField(
        _("portal"), max_length=8, choices=PortalState.choices, default=PortalState.NONE
    )
    portal_invited_until = models.DateTimeField(null=True, blank=True, editable=False)

    # Folded name, code, e-mail, cities and KvK: what the list's search matches (see RelationQuerySet.search).
    search_text = models.TextField(editable=False, default="")
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    ledger_version = models.PositiveIntegerField(default=1, editable=False)
    # "Controleren": data taken in from the ledger that Kring's own forms would refuse (a legacy
    # btw-id, a missing postcode), kept as imported. `review_notes` holds {"field", "message"}
    # per problem; an edit that fixes a field drops its note (sync.importer, relations.views).
    needs_review = models.BooleanField(_("needs review"), default=False, editable=False)
    review_notes = models.JSONField(default=list, blank=True, editable=False)

    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True, editable=False)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        editable=False,
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        editable=False,
    )

    objects = RelationQuerySet.as_manager()

    class Meta:
        verbose_name = _("relation")
        verbose_name_plural = _("relations")
        ordering = ["display_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "client_code"],
                condition=~Q(client_code=""),
                name="relations_relation_client_code_unique",
            ),
            models.CheckConstraint(
                condition=Q(kind="contact", client_code="")
                | (Q(kind="client") & ~Q(client_code="")),
                name="relations_relation_code_iff_client",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["client", "contact"]), name="relations_relation_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(entity__in=["company", "private"]),
                name="relations_relation_entity_valid",
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1), name="relations_relation_version_positive"
            ),
        ]
        indexes = [
            # The list (relations.views.listing): practice first, then each sort key with the id that
            # breaks ties. The list's filters ride along as trailing columns (INCLUDE would do, but
            # SQLite has none), so the capped count and the deferred join's page of ids are
            # index-only scans on PostgreSQL, however deep the page.
            models.Index(
                fields=["practice", "display_name", "id", *LIST_FILTER_COLUMNS],
                name="relation_practice_name",
            ),
            models.Index(
                fields=["practice", "client_code", "id", *LIST_FILTER_COLUMNS],
                name="relation_practice_code",
            ),
            models.Index(
                fields=["practice", "-created_at", "-id", *LIST_FILTER_COLUMNS],
                name="relation_practice_created",
            ),
            # Duplicate detection on save looks these up within the practice.
            models.Index(fields=["practice", "kvk_number"], name="relation_practice_kvk"),
            models.Index(fields=["practice", "email"], name="relation_practice_email"),
            models.Index(fields=["practice", "bsn"], name="relation_practice_bsn"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        return reverse("relations-detail", args=[self.public_id])

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise RelationsAreNeverDeleted("Relations are archived, never deleted.")

    delete.alters_data = True  # type: ignore[attr-defined]  # Django's flag: templates never call it

    # --- derived values -------------------------------------------------------------------------

    @property
    def is_client(self) -> bool:
        return self.kind == self.Kind.CLIENT

    @property
    def is_company(self) -> bool:
        return self.entity == self.Entity.COMPANY

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def portal_status(self) -> str:
        """The invitation state as shown: a pending invitation past its date has expired."""
        if (
            self.portal_state == PortalState.PENDING
            and self.portal_invited_until
            and self.portal_invited_until < timezone.now()
        ):
            return "expired"
        return self.portal_state

    @property
    def masked_bsn(self) -> str:
        return mask_bsn(self.bsn)

    @property
    def letter_salutation(self) -> str:
        """How a letter or an e-mail to the relation opens, in the active language.

        The salutation is not part of the name (the name is "Jan de Vries", or "J.P. de Vries" with
        only initials): it only says how to address the person, "Geachte heer De Vries". Without a
        first name or initials before it, a Dutch prefix takes a capital ("heer De Vries").
        """
        if self.is_company or not self.last_name:
            return gettext("Dear Sir or Madam")
        if self.salutation in (self.Salutation.MR, self.Salutation.MRS):
            surname = " ".join(p for p in (self.name_prefix, self.last_name) if p)
            surname = surname[:1].upper() + surname[1:]
            if self.salutation == self.Salutation.MR:
                return gettext("Dear Mr %(name)s") % {"name": surname}
            return gettext("Dear Mrs %(name)s") % {"name": surname}
        return gettext("Dear %(name)s") % {"name": self.compose_display_name()}

    @property
    def fiscal_year_end_month_name(self) -> str:
        """The month by its name in the active language ("december"), not its number."""
        return str(MONTHS.get(self.fiscal_year_end_month, "")) if self.fiscal_year_end_month else ""

    def compose_display_name(self) -> str:
        """The name as shown everywhere: first name, else initials, then prefix and last name.

        Never both initials and first name, and never the salutation (see letter_salutation).
        """
        if self.is_company:
            return (self.trade_name or self.legal_name).strip()
        first = self.first_name or self.initials
        return " ".join(p for p in (first, self.name_prefix, self.last_name) if p).strip()

    def compose_search_text(self, cities: list[str] | None = None) -> str:
        if cities is None:
            cities = (
                list(self.addresses.values_list("city", flat=True).distinct()) if self.pk else []
            )
        return search_text_of(
            self.display_name,
            self.legal_name,
            self.client_code,
            self.email,
            self.kvk_number,
            cities,
        )

    def refresh_derived(self) -> None:
        self.display_name = self.compose_display_name()
        self.search_text = self.compose_search_text()

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.is_company and not (self.legal_name or self.trade_name):
            errors["legal_name"] = gettext("A company needs a legal name or a trade name.")
        if not self.is_company and not self.last_name:
            errors["last_name"] = gettext("A private person needs a last name.")
        if self.kind == self.Kind.CONTACT and not self.email:
            errors["email"] = gettext("A contact needs an e-mail address.")
        if self.date_of_birth and self.date_of_birth > date.today():
            errors["date_of_birth"] = gettext("The date of birth cannot be in the future.")
        if self.is_company and self.founded_on and self.founded_on > timezone.localdate():
            errors["founded_on"] = gettext("The founding date cannot be in the future.")
        if errors:
            raise ValidationError(errors)


def search_text_of(
    display_name: str,
    legal_name: str,
    client_code: str,
    email: str,
    kvk_number: str,
    cities: Iterable[str],
) -> str:
    """What search matches (`Relation.search_text`), from the values themselves: a bulk load
    composes it without building the relation (relations.intake)."""
    parts = [display_name, legal_name, client_code, email, kvk_number, *cities]
    return fold(" ".join(p for p in parts if p))


# --- one default per type --------------------------------------------------------------------------
# The ledger wants one default address per type and one default bank account (DESIGN §5). The rule,
# for every path that writes them (the Addresses and Banks tabs, the admin, the ledger import, "take
# the ledger's"): at most one default per relation and type (bank accounts: per relation) — a
# database constraint backs it — a newly ticked one takes it from the others, and a relation that
# has rows of a type keeps a default among them: the one being saved when no other is, else the
# oldest. Rows taken in from the ledger keep its choice: the first it marks default wins.


class OneDefaultQuerySet(models.QuerySet):
    """`one_default_group`: the columns within which one row is the default."""

    one_default_group: tuple[str, ...] = ("relation_id",)

    def _group_of(self, obj: Any) -> models.QuerySet:
        return self.filter(**{name: getattr(obj, name) for name in self.one_default_group})

    def take_default(self, obj: Any) -> None:
        """Before saving `obj`: ticked, it becomes its group's default (the others lose it);
        not ticked, it is the default anyway when no other row of its group is."""
        others = self._group_of(obj).exclude(pk=obj.pk or 0).filter(is_default=True)
        if obj.is_default:
            others.update(is_default=False)
        elif not others.exists():
            obj.is_default = True

    def keep_a_default(self, obj: Any) -> None:
        """After `obj` left its group (removed, or its type changed): the oldest remaining row
        becomes the default when none is left."""
        group = self._group_of(obj).exclude(pk=obj.pk or 0)
        if not group.filter(is_default=True).exists():
            successor = group.order_by("pk").values_list("pk", flat=True).first()
            if successor:
                group.filter(pk=successor).update(is_default=True)


def one_default_each(rows: Iterable[Any], group: Callable[[Any], Any] = lambda row: None) -> None:
    """Rows about to be written together (taken in from the ledger): in each `group` the first
    marked default stays so, the others are unmarked. Sets `is_default` on the rows in place."""
    seen: set[Any] = set()
    for row in rows:
        if row.is_default:
            key = group(row)
            if key in seen:
                row.is_default = False
            seen.add(key)


class AddressQuerySet(OneDefaultQuerySet):
    one_default_group = ("relation_id", "type")

    def preferred_first(self) -> AddressQuerySet:
        """The address that stands for a relation where only one is shown (the list's city, the
        export's address columns, the pickers) first: the default visiting address, else the
        default postal one, else the default invoice one (an import may bring only that), and a
        relation without defaults by the same order of types. One rule, here."""
        rank = Case(
            When(type="visiting", then=Value(0)),
            When(type="postal", then=Value(1)),
            default=Value(2),
        )
        return self.order_by("-is_default", rank, "pk")


def preferred_address_of(relation_ref: Any = None) -> AddressQuerySet:
    """The preferred address of the relation `relation_ref` points at (by default the outer
    query's row), for a subquery: a column of the same query, never a query per row."""
    ref = OuterRef("pk") if relation_ref is None else relation_ref
    return Address.objects.filter(relation=ref).preferred_first()


def preferred_city() -> Subquery:
    """The preferred address's city (see `AddressQuerySet.preferred_first`), as a column."""
    return Subquery(preferred_address_of().values("city")[:1])


class Address(models.Model):
    class Type(models.TextChoices):
        VISITING = "visiting", _("Visiting address")
        POSTAL = "postal", _("Postal address")
        INVOICE = "invoice", _("Invoice address")

    relation = models.ForeignKey(
        Relation, on_delete=models.PROTECT, related_name="addresses", verbose_name=_("relation")
    )
    type = models.CharField(_("type"), max_length=8, choices=Type.choices, default=Type.VISITING)
    street = models.CharField(_("street"), max_length=120)
    house_number = models.CharField(_("house number"), max_length=10, blank=True, default="")
    house_number_addition = models.CharField(_("addition"), max_length=10, blank=True, default="")
    postcode = models.CharField(_("postcode"), max_length=12, blank=True, default="")
    city = models.CharField(_("city"), max_length=80)
    country = models.CharField(_("country"), max_length=2, default="NL")
    is_default = models.BooleanField(_("default for this type"), default=True)

    objects = AddressQuerySet.as_manager()

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["type", "-is_default", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["relation", "type"],
                condition=Q(is_default=True),
                name="relations_address_one_default_per_type",
            ),
            models.CheckConstraint(
                condition=Q(type__in=["visiting", "postal", "invoice"]),
                name="relations_address_type_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.single_line

    @property
    def street_line(self) -> str:
        number = f"{self.house_number}{('-' + self.house_number_addition) if self.house_number_addition else ''}"
        return f"{self.street} {number}".strip()

    @property
    def country_name(self) -> str:
        """In the user's language; a code outside ISO 3166-1 (an old import) as it is stored."""
        return country_name(self.country)

    @property
    def single_line(self) -> str:
        return ", ".join(p for p in (self.street_line, f"{self.postcode} {self.city}".strip()) if p)


class BankAccount(models.Model):
    relation = models.ForeignKey(
        Relation, on_delete=models.PROTECT, related_name="bank_accounts", verbose_name=_("relation")
    )
    iban = models.CharField(_("IBAN"), max_length=34)
    bic = models.CharField(_("BIC"), max_length=11, blank=True, default="")
    bank_name = models.CharField(_("bank"), max_length=100, blank=True, default="")
    holder = models.CharField(_("account holder"), max_length=40, blank=True, default="")
    is_default = models.BooleanField(_("default account"), default=True)

    objects = OneDefaultQuerySet.as_manager()

    class Meta:
        verbose_name = _("bank account")
        verbose_name_plural = _("bank accounts")
        ordering = ["-is_default", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["relation", "iban"], name="relations_bankaccount_iban_unique"
            ),
            models.UniqueConstraint(
                fields=["relation"],
                condition=Q(is_default=True),
                name="relations_bankaccount_one_default",
            ),
        ]
        indexes = [models.Index(fields=["iban"], name="bankaccount_iban")]

    def __str__(self) -> str:
        return self.iban

    @property
    def formatted_iban(self) -> str:
        """In groups of four, the way it is printed on a card or a statement."""
        return " ".join(self.iban[i : i + 4] for i in range(0, len(self.iban), 4))


class ServiceAgreementQuerySet(models.QuerySet["ServiceAgreement"]):
    """The one rule for "running", in SQL; `ServiceAgreement.status` is the same rule for one row.

    Running: started (the start date is on or before the day) and not ended (no end date, or one after
    the day: the end date is the day the service stops, so ending today ends it) and not cancelled.
    The overview, the Agreements tab, the company → private guard and archiving all ask this.
    """

    def running(self, on: date | None = None) -> ServiceAgreementQuerySet:
        on = on or timezone.localdate()
        return self.filter(cancelled_at__isnull=True, start_date__lte=on).filter(
            Q(end_date__isnull=True) | Q(end_date__gt=on)
        )

    def planned(self, on: date | None = None) -> ServiceAgreementQuerySet:
        """Not started yet and not cancelled: what ending would cancel, and archiving cancels."""
        on = on or timezone.localdate()
        return self.filter(cancelled_at__isnull=True, start_date__gt=on)


class ServiceAgreement(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("In progress")
        PLANNED = "planned", _("Not started yet")
        ENDED = "ended", _("Ended")
        # Withdrawn before it started: never running, kept, and shown with the ended ones.
        CANCELLED = "cancelled", _("Cancelled")

    class Service(models.TextChoices):
        BOOKKEEPING = "bookkeeping", _("Bookkeeping")
        VAT = "vat", _("VAT returns")
        PAYROLL = "payroll", _("Payroll")
        ANNUAL_ACCOUNTS = "annual_accounts", _("Annual accounts")
        INCOME_TAX = "income_tax", _("Income tax")
        CORPORATE_TAX = "corporate_tax", _("Corporate tax")
        ADVISORY = "advisory", _("Advisory")
        OTHER = "other", _("Other")

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    relation = models.ForeignKey(
        Relation, on_delete=models.PROTECT, related_name="agreements", verbose_name=_("relation")
    )
    service = models.CharField(_("service"), max_length=20, choices=Service.choices)
    start_date = models.DateField(_("start date"), default=timezone.localdate)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    notes = models.TextField(_("notes"), max_length=NOTES_MAX_LENGTH, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    cancelled_at = models.DateTimeField(
        _("cancelled at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Set when the agreement was withdrawn before it started; it never ran."),
    )

    objects = ServiceAgreementQuerySet.as_manager()

    class Meta:
        verbose_name = _("service agreement")
        verbose_name_plural = _("service agreements")
        ordering = ["-start_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="relations_serviceagreement_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.get_service_display()

    def status(self, on: date | None = None) -> ServiceAgreement.Status:
        """Where the agreement stands on a day (today): `ServiceAgreementQuerySet.running`'s rule."""
        on = on or timezone.localdate()
        if self.cancelled_at is not None:
            return self.Status.CANCELLED
        if self.start_date > on:
            return self.Status.PLANNED
        if self.end_date is not None and self.end_date <= on:
            return self.Status.ENDED
        return self.Status.RUNNING

    @property
    def is_running(self) -> bool:
        return self.status() == self.Status.RUNNING


# The roles every office starts with (TeamRole.seed): key, English label (lazy, Dutch in the
# catalogue), position. The keys are stable: the work processes route tasks by them.
MANAGER_KEY = "manager"
DEFAULT_TEAM_ROLES = (
    (MANAGER_KEY, pgettext_lazy("team role", "Relationship manager")),
    ("accountant", pgettext_lazy("team role", "Accountant")),
    ("tax_advisor", pgettext_lazy("team role", "Tax advisor")),
    ("assistant", pgettext_lazy("team role", "Assistant")),
    ("payroll", pgettext_lazy("team role", "Payroll")),
    ("secretary", pgettext_lazy("team role", "Secretariat")),
)
DEFAULT_LABELS = dict(DEFAULT_TEAM_ROLES)


class TeamRoleQuerySet(models.QuerySet["TeamRole"]):
    def active(self) -> TeamRoleQuerySet:
        return self.filter(active=True)

    def seed(self, practice_id: int) -> None:
        """The office's first roles (a new practice; the data migration does the same)."""
        have = set(self.filter(practice_id=practice_id).values_list("key", flat=True))
        TeamRole.objects.bulk_create(
            [
                TeamRole(
                    practice_id=practice_id,
                    key=key,
                    position=(n + 1) * 10,
                    required=key == MANAGER_KEY,
                )
                for n, (key, _label) in enumerate(DEFAULT_TEAM_ROLES)
                if key not in have
            ]
        )

    def by_key(self, practice_id: int) -> dict[str, TeamRole]:
        return {role.key: role for role in self.filter(practice_id=practice_id)}


class TeamRole(models.Model):
    """A role on a relation's team, the office's own (Kantoor → Teamrollen).

    `key` is stable and unique in the practice (tasks are routed by it); `name` is what the owner
    calls it — empty for a seeded role not renamed, which then shows its default label in the
    reader's language. The required role (the relationship manager) is never deactivated or
    deleted; no role in use is ever deleted.
    """

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    key = models.SlugField(_("key"), max_length=32)
    name = models.CharField(_("name"), max_length=60, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)
    required = models.BooleanField(_("required on every client"), default=False, editable=False)

    objects = TeamRoleQuerySet.as_manager()

    class Meta:
        verbose_name = _("team role")
        verbose_name_plural = _("team roles")
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "key"], name="relations_teamrole_key"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        default = DEFAULT_LABELS.get(self.key)
        return str(default) if default is not None else self.key


class TeamAssignmentQuerySet(models.QuerySet["TeamAssignment"]):
    def managers(self) -> TeamAssignmentQuerySet:
        return self.filter(role=MANAGER_KEY)

    def holding(self, key: str) -> TeamAssignmentQuerySet:
        """The places of those who hold the role `key` (its stable key, not its name)."""
        return self.filter(role=key)


class TeamAssignment(models.Model):
    """An office member who looks after a relation, in one of the office's team roles. A client
    keeps a relationship manager. `role` is the role's stable key, kept beside `team_role` so that
    "who holds this role" is one indexed filter; the save fills whichever of the two is missing."""

    class Role(models.TextChoices):
        # The keys of the seeded roles (DEFAULT_TEAM_ROLES); an office may add its own.
        RELATIONSHIP_MANAGER = MANAGER_KEY, _("Relationship manager")
        ACCOUNTANT = "accountant", _("Accountant")
        ASSISTANT = "assistant", _("Assistant")
        PAYROLL = "payroll", _("Payroll")
        TAX_ADVISOR = "tax_advisor", _("Tax advisor")
        SECRETARY = "secretary", pgettext_lazy("team role", "Secretariat")

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    relation = models.ForeignKey(
        Relation, on_delete=models.PROTECT, related_name="team", verbose_name=_("relation")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="team_assignments",
        verbose_name=_("team member"),
    )
    role = models.CharField(_("role"), max_length=32)
    team_role = models.ForeignKey(
        TeamRole, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("role")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = TeamAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team")
        ordering = ["role", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["relation", "user", "role"], name="relations_teamassignment_unique"
            ),
        ]
        indexes = [
            # "My relations": the list filtered on the current user's assignments.
            models.Index(fields=["user", "relation"], name="team_user_relation"),
            # Who holds a role (the work processes' routing, the hand-over by role).
            models.Index(fields=["practice", "role", "relation"], name="team_practice_role"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.team_role_id is None:
            self.team_role = TeamRole.objects.get(practice_id=self.practice_id, key=self.role)
        else:
            self.role = self.team_role.key
        super().save(*args, **kwargs)

    def get_role_display(self) -> str:
        return self.team_role.label


class TimelineEvent(models.Model):
    """What happened to a relation. Never a personal value as text: names come from the references."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        CHANGED = "changed", _("Changed")
        CONVERTED_TO_CLIENT = "converted_to_client", _("Converted to client")
        CONVERTED_TO_PRIVATE = "converted_to_private", _("Converted to private person")
        CONVERTED_TO_COMPANY = "converted_to_company", _("Converted to company")
        ARCHIVED = "archived", _("Archived")
        RESTORED = "restored", _("Restored")
        ADDRESS_ADDED = "address_added", _("Address added")
        ADDRESS_CHANGED = "address_changed", _("Address changed")
        ADDRESS_REMOVED = "address_removed", _("Address removed")
        BANK_ADDED = "bank_added", _("Bank account added")
        BANK_CHANGED = "bank_changed", _("Bank account changed")
        BANK_REMOVED = "bank_removed", _("Bank account removed")
        AGREEMENT_ADDED = "agreement_added", _("Agreement added")
        AGREEMENT_CHANGED = "agreement_changed", _("Agreement changed")
        AGREEMENT_ENDED = "agreement_ended", _("Agreement ended")
        AGREEMENT_CANCELLED = "agreement_cancelled", _("Agreement cancelled")
        BSN_REVEALED = "bsn_revealed", _("BSN revealed")
        CONNECTION_ADDED = "connection_added", _("Connection added")
        CONNECTION_ENDED = "connection_ended", _("Connection ended")
        TEAM_ADDED = "team_added", _("Team member added")
        TEAM_CHANGED = "team_changed", _("Team role changed")
        TEAM_REMOVED = "team_removed", _("Team member removed")
        # `member` is who took the places over; `fields` the role keys handed over.
        TEAM_HANDED_OVER = "team_handed_over", _("Team places handed over")
        INVITATION_SENT = "invitation_sent", _("Portal invitation sent")
        INVITATION_ACCEPTED = "invitation_accepted", _("Portal invitation accepted")
        INVITATION_REVOKED = "invitation_revoked", _("Portal access revoked")
        # Werkprocessen (the work app): the event says what happened; the process is on the tab.
        PROCESS_STARTED = "process_started", _("Work process started")
        TASK_DONE = "task_done", _("Task done")
        TASK_SKIPPED = "task_skipped", _("Task skipped")
        PROCESS_DONE = "process_done", _("Work process done")

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    relation = models.ForeignKey(
        Relation, on_delete=models.PROTECT, related_name="timeline", verbose_name=_("relation")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(_("event"), max_length=32, choices=Kind.choices)
    fields = models.JSONField(_("fields"), default=list, blank=True)
    other_relation = models.ForeignKey(
        Relation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    agreement = models.ForeignKey(
        ServiceAgreement, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The office member a team event is about."),
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=False)

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The Timeline tab: one relation's events, newest first.
            models.Index(
                fields=["relation", "-created_at", "-id"], name="timeline_relation_recent"
            ),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()

    @classmethod
    def record(cls, relation: Relation, kind: str, actor=None, fields=(), **refs) -> TimelineEvent:
        return cls.objects.create(
            practice_id=relation.practice_id,
            relation=relation,
            actor=actor,
            kind=kind,
            fields=sorted(fields),
            **refs,
        )
