import getpass
import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_slug

from practice.models import Practice
from practice.services import create_practice


class Command(BaseCommand):
    help = "Create a practice (an accounting office) and its owner account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="Short name used internally, e.g. 'dejong'.")
        parser.add_argument("--name", required=True, help="The office's name as staff see it.")
        parser.add_argument(
            "--owner", required=True, help="Username of the owner (created if new)."
        )
        parser.add_argument(
            "--password",
            help="Password for a new owner; asked for interactively when omitted.",
        )

    def handle(self, *args, slug: str, name: str, owner: str, password: str | None, **options):
        try:
            validate_slug(slug)
        except ValidationError as exc:
            raise CommandError(f"Invalid slug {slug!r}: {exc.messages[0]}") from exc
        if Practice.objects.filter(slug=slug).exists():
            raise CommandError(f"A practice with slug {slug!r} exists already.")
        from django.contrib.auth import get_user_model

        exists = get_user_model().objects.filter(username=owner).exists()
        if not exists:
            if not password:
                if not sys.stdin.isatty():
                    raise CommandError("--password is required to create a new owner.")
                password = getpass.getpass(f"Password for {owner}: ")
            try:
                validate_password(password)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
        practice, _owner, created = create_practice(
            slug=slug, name=name, owner_username=owner, owner_password=password
        )
        who = "new user" if created else "existing user"
        self.stdout.write(
            self.style.SUCCESS(f"Created practice {practice.slug!r} with owner {owner!r} ({who}).")
        )
