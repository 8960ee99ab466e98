from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from practice.db import analyze
from practice.models import Membership, Practice

DEMO_SLUG = "demo"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 - the documented demo login of `make run`
# The office's colleagues (username, first name, last name, role); they log in with the demo
# password too, to see Kring as each role does. Teams are filled in by the relations' demo.
COLLEAGUES = [
    ("sanne", "Sanne", "de Vries", Membership.Role.OWNER),
    ("mark", "Mark", "Jansen", Membership.Role.STAFF),
    ("fatima", "Fatima", "El Amrani", Membership.Role.STAFF),
    ("pieter", "Pieter", "Bakker", Membership.Role.STAFF),
    ("lotte", "Lotte", "Visser", Membership.Role.READ_ONLY),
]


# What `seed_demo --relations` loads in bulk, by label: the apps above practice are not imported here.
SEEDED_MODELS = (
    "relations.Relation",
    "relations.Address",
    "relations.BankAccount",
    "relations.ServiceAgreement",
    "relations.TeamAssignment",
    "relations.TimelineEvent",
    "connections.Connection",
)


def analyze_seeded() -> list[str]:
    """Fresh data is fast data (practice.db): the tables `seed_demo --relations` loaded, analysed."""
    return analyze(*(apps.get_model(label) for label in SEEDED_MODELS))


class Command(BaseCommand):
    help = (
        "Create (or complete) the demo practice 'demo' with the user demo / demo. Idempotent: run it "
        "as often as you like. Every app that has a `demo` module adds its own data through it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practice", default=DEMO_SLUG, help="Slug of the practice to seed.")
        parser.add_argument(
            "--relations",
            type=int,
            default=None,
            metavar="N",
            help=(
                "Office scale instead of the demo: bring the practice up to N relations with bulk "
                "inserts (addresses, bank accounts, agreements, team, connections, some archived)."
            ),
        )

    def handle(self, *args, practice: str, relations: int | None = None, **options) -> None:
        with transaction.atomic():
            demo_practice, user = self.ensure_practice(practice)
        if relations is not None:
            self.seed_at_scale(demo_practice, user, relations)
            return
        # Apps above `practice` add their data through `<app>.demo.seed()`, so the ground floor never
        # imports the apps built on it; they run in INSTALLED_APPS order, i.e. dependency order.
        for config in apps.get_app_configs():
            if config.name == "practice" or find_spec(f"{config.name}.demo") is None:
                continue
            module = import_module(f"{config.name}.demo")
            with transaction.atomic():
                module.seed(practice=demo_practice, user=user, stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo practice {demo_practice.slug!r} is ready: log in as "
                f"{DEMO_USERNAME} / {DEMO_PASSWORD}."
            )
        )

    def seed_at_scale(self, practice: Practice, user, target: int) -> None:
        # Office scale is relations' bulk seeder's to build (it brings the rest along), asked for
        # by name as every app's demo data is: the ground floor imports no app built on it.
        seeder = import_module("relations.bulk_seed")
        existing = practice.relations.count()
        added = seeder.seed_relations(
            practice=practice, user=user, count=max(0, target - existing), stdout=self.stdout
        )
        if added:
            analyze_seeded()
        self.stdout.write(
            self.style.SUCCESS(
                f"Practice {practice.slug!r} has {existing + added} relations ({added} added)."
            )
        )

    def ensure_colleagues(self, practice: Practice) -> None:
        User = get_user_model()
        for username, first, last, role in COLLEAGUES:
            colleague, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@rekenmeester.example",
                },
            )
            if created:
                colleague.set_password(DEMO_PASSWORD)
                colleague.save(update_fields=["password"])
            Membership.objects.get_or_create(
                user=colleague, practice=practice, defaults={"role": role}
            )

    def ensure_practice(self, slug: str) -> tuple[Practice, object]:
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME,
            defaults={"first_name": "Demo", "last_name": "Gebruiker", "email": "demo@example.nl"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        demo, _ = Practice.objects.get_or_create(
            slug=slug, defaults={"name": "Administratiekantoor De Rekenmeester"}
        )
        Membership.objects.get_or_create(
            user=user, practice=demo, defaults={"role": Membership.Role.OWNER}
        )
        self.ensure_colleagues(demo)
        # A second office, so that the practice switcher has something to switch to.
        branch, _ = Practice.objects.get_or_create(
            slug=f"{slug}-noord", defaults={"name": "De Rekenmeester Noord"}
        )
        Membership.objects.get_or_create(
            user=user, practice=branch, defaults={"role": Membership.Role.STAFF}
        )
        return demo, user
