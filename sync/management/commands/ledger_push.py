from django.core.management.base import BaseCommand, CommandError, CommandParser

from practice.models import Practice
from sync.services import push_practice


class Command(BaseCommand):
    help = (
        "Push every due client of a practice to its ledger now, in this process (no worker needed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The practice's slug.")

    def handle(self, *args, slug: str, **options) -> None:
        practice = Practice.objects.filter(slug=slug).first()
        if practice is None:
            raise CommandError(f"No practice with slug {slug!r}.")
        report = push_practice(practice)
        if report.skipped_busy:
            self.stdout.write(
                "Another process is pushing for this practice right now; nothing done."
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.pushed} pushed, {report.failed} refused, {report.conflicts} conflicts, "
                f"{report.retried} to retry, in {report.batches} batches."
            )
        )
        for error in report.errors:
            self.stdout.write(f"  {error}")
