import factory
from django.contrib.auth.models import User

from practice.models import Membership, Practice
from relations.models import Address, BankAccount, Relation, ServiceAgreement

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="nl_NL")
    last_name = factory.Faker("last_name", locale="nl_NL")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.nl")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class PracticeFactory(factory.django.DjangoModelFactory[Practice]):
    class Meta:
        model = Practice
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Administratiekantoor {n}")
    slug = factory.Sequence(lambda n: f"office-{n}")


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    practice = factory.SubFactory(PracticeFactory)
    role = Membership.Role.STAFF


class RelationFactory(factory.django.DjangoModelFactory[Relation]):
    """A client company by default; `private()` / `contact()` traits switch kind and type."""

    class Meta:
        model = Relation
        skip_postgeneration_save = True

    practice = factory.SubFactory(PracticeFactory)
    kind = "client"
    entity = "company"
    legal_name = factory.Faker("company", locale="nl_NL")
    client_code = factory.Sequence(lambda n: str(5000 + n))
    email = factory.LazyAttribute(lambda r: f"info{r.client_code or 'x'}@example.nl")

    class Params:
        private = factory.Trait(
            entity="private",
            legal_name="",
            first_name=factory.Faker("first_name", locale="nl_NL"),
            last_name=factory.Faker("last_name", locale="nl_NL"),
        )
        contact = factory.Trait(kind="contact", client_code="")

    @factory.post_generation
    def _derived(obj, create, extracted, **kwargs):
        obj.refresh_derived()
        if create:
            obj.save(update_fields=["display_name", "search_text"])


class AddressFactory(factory.django.DjangoModelFactory[Address]):
    class Meta:
        model = Address

    relation = factory.SubFactory(RelationFactory)
    type = "visiting"
    street = "Keizersgracht"
    house_number = factory.Sequence(lambda n: str(n + 1))
    postcode = "1015 CJ"
    city = "Amsterdam"
    country = "NL"


class BankAccountFactory(factory.django.DjangoModelFactory[BankAccount]):
    class Meta:
        model = BankAccount

    relation = factory.SubFactory(RelationFactory)
    iban = "NL91ABNA0417164300"
    bic = "ABNANL2A"
    bank_name = "ABN AMRO BANK N.V."
    holder = "Bakkerij B.V."


class ServiceAgreementFactory(factory.django.DjangoModelFactory[ServiceAgreement]):
    class Meta:
        model = ServiceAgreement

    relation = factory.SubFactory(RelationFactory)
    practice = factory.SelfAttribute("relation.practice")
    service = "bookkeeping"


def created_relation(practice, user, **fields):
    """A relation made the way the app makes one (`services.create_relation`: the practice's next
    client code unless one is given, the relationship manager, the timeline and the ledger outbox)."""
    from relations import services

    fields.setdefault("client_code", "")
    relation = RelationFactory.build(practice=practice, **fields)
    return services.create_relation(practice=practice, user=user, relation=relation)
