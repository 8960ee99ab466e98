from django.core.management.base import BaseCommand, CommandError, CommandParser

from practice.models import Practice
from sync.models import SyncState
from sync.outbox import ledger_counts


class Command(BaseCommand):
    help = (
        "How a practice's clients stand with the ledger: a count per state and the oldest waiting "
        "(the same count as the office's ledger page)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The practice's slug.")

    def handle(self, *args, slug: str, **options) -> None:
        practice = Practice.objects.filter(slug=slug).first()
        if practice is None:
            raise CommandError(f"No practice with slug {slug!r}.")
        counts = ledger_counts(practice)
        for status in SyncState.Status:
            self.stdout.write(f"{status.value:10} {counts.by_status[status.value]}")
        oldest = counts.oldest_due
        self.stdout.write(f"{'due now':10} {counts.due}")
        self.stdout.write(f"oldest waiting since: {oldest.isoformat() if oldest else '-'}")
