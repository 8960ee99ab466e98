from django.core.management.base import BaseCommand, CommandError, CommandParser

from practice.models import Practice
from sync import crypto
from sync.models import LedgerConnection
from sync.outbox import connection_for


class Command(BaseCommand):
    help = (
        "Connect a practice to its ledger. Secrets are stored encrypted and never printed back; "
        "omitted options keep their stored value."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The practice's slug.")
        parser.add_argument("--adapter", choices=LedgerConnection.Adapter.values, required=True)
        parser.add_argument("--office", help="Twinfield office code (CompanyCode).")
        parser.add_argument("--client-id")
        parser.add_argument("--client-secret")
        parser.add_argument("--refresh-token")
        parser.add_argument("--login-url", help="Login host, e.g. a test server.")
        parser.add_argument("--disable", action="store_true", help="Stop pushing changes.")

    def handle(self, *args, slug: str, adapter: str, **options) -> None:
        practice = Practice.objects.filter(slug=slug).first()
        if practice is None:
            raise CommandError(f"No practice with slug {slug!r}.")
        connection = connection_for(practice)
        connection.adapter = adapter
        if options["office"] is not None:
            connection.office_code = options["office"]
        if options["client_id"] is not None:
            connection.client_id = options["client_id"]
        if options["login_url"] is not None:
            connection.login_url = options["login_url"].rstrip("/")
        for name in ("client_secret", "refresh_token"):
            if options[name] is not None:
                setattr(connection, name, options[name])
                connection.access_token = ""
                connection.access_token_expires_at = None
                connection.cluster_url = ""
        connection.enabled = not options["disable"]
        if adapter == LedgerConnection.Adapter.TWINFIELD:
            missing = [
                flag
                for flag, value in (
                    ("--office", connection.office_code),
                    ("--client-id", connection.client_id),
                    ("--client-secret", connection.client_secret_encrypted),
                    ("--refresh-token", connection.refresh_token_encrypted),
                )
                if not value
            ]
            if missing:
                raise CommandError(f"Twinfield needs {', '.join(missing)}.")
        connection.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"{practice.slug}: {connection.get_adapter_display()}"
                + (f", office {connection.office_code}" if connection.office_code else "")
                + (
                    f", secret {crypto.mask(connection.client_secret)}"
                    if connection.client_secret_encrypted
                    else ""
                )
                + ("" if connection.enabled else " (pushing disabled)")
            )
        )
