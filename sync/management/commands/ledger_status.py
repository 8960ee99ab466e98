from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count, Min

from practice.models import Practice
from sync.models import SyncState
from sync.services import due_states, ensure_states


class Command(BaseCommand):
    help = (
        "How a practice's clients stand with the ledger: a count per state and the oldest waiting."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The practice's slug.")

    def handle(self, *args, slug: str, **options) -> None:
        practice = Practice.objects.filter(slug=slug).first()
        if practice is None:
            raise CommandError(f"No practice with slug {slug!r}.")
        ensure_states(practice)
        counts = dict(
            SyncState.objects.filter(practice=practice)
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        for status in SyncState.Status:
            self.stdout.write(f"{status.value:10} {counts.get(status.value, 0)}")
        due = due_states(practice)
        oldest = due.aggregate(oldest=Min("updated_at"))["oldest"]
        self.stdout.write(f"{'due now':10} {due.count()}")
        self.stdout.write(f"oldest waiting since: {oldest.isoformat() if oldest else '-'}")
