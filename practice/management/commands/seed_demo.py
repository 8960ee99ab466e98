from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from practice.models import Membership, Practice

DEMO_SLUG = "demo"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 - the documented demo login of `make run`


class Command(BaseCommand):
    help = (
        "Create (or complete) the demo practice 'demo' with the user demo / demo. Idempotent: run it "
        "as often as you like. Every app that has a `demo` module adds its own data through it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practice", default=DEMO_SLUG, help="Slug of the practice to seed.")

    def handle(self, *args, practice: str, **options) -> None:
        with transaction.atomic():
            demo_practice, user = self.ensure_practice(practice)
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
        # A second office, so that the practice switcher has something to switch to.
        branch, _ = Practice.objects.get_or_create(
            slug=f"{slug}-noord", defaults={"name": "De Rekenmeester Noord"}
        )
        Membership.objects.get_or_create(
            user=user, practice=branch, defaults={"role": Membership.Role.STAFF}
        )
        return demo, user
