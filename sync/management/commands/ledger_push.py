from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import F, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from practice.models import Practice
from relations.models import Relation
from sync.drain import PushReport, push_practice
from sync.models import SyncState
from sync.outbox import due_states


class Command(BaseCommand):
    help = (
        "Push every due client of a practice to its ledger now, in this process (no worker "
        "needed). Prints each wait the ledger asks for, then what was pushed, is waiting, failed "
        "or is in conflict, and why nothing was sent when nothing was."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The practice's slug.")

    def handle(self, *args, slug: str, **options) -> None:
        practice = Practice.objects.filter(slug=slug).first()
        if practice is None:
            raise CommandError(_("No practice with slug %(slug)r.") % {"slug": slug})
        report = push_practice(practice, on_wait=self.waiting)
        self.summary(practice, report)

    def waiting(self, seconds: float, reason: str) -> None:
        self.stdout.write(
            _("Twinfield asks to wait %(seconds)s s… (%(reason)s)")
            % {"seconds": f"{seconds:.3g}", "reason": reason}
        )
        self.stdout.flush()

    def summary(self, practice: Practice, report: PushReport) -> None:
        states = SyncState.objects.filter(practice=practice, relation__kind=Relation.Kind.CLIENT)
        waiting = states.filter(
            status=SyncState.Status.PENDING,
            relation__ledger_version__gt=F("pushed_version"),
            next_attempt_at__gt=timezone.now(),
        )
        waiting_count = waiting.count()
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "%(pushed)d pushed, %(waiting)d waiting for their next attempt, "
                    "%(failed)d failed, %(conflicts)d conflicts, in %(batches)d batches."
                )
                % {
                    "pushed": report.pushed,
                    "waiting": waiting_count,
                    "failed": report.failed,
                    "conflicts": report.conflicts,
                    "batches": report.batches,
                }
            )
        )
        if report.waits:
            self.stdout.write(
                _("The ledger asked to wait %(waits)d times, %(seconds).1f s in all.")
                % {"waits": report.waits, "seconds": report.waited}
            )
        for error in report.errors:
            self.stdout.write(f"  {error}")
        if report.pushed or report.failed or report.conflicts or report.retried:
            return
        if report.disabled:
            why = _("Nothing was sent: the ledger connection is switched off.")
        elif report.skipped_busy:
            why = _("Nothing was sent: another process is pushing for this practice right now.")
        elif waiting_count:
            earliest = waiting.aggregate(at=Min("next_attempt_at"))["at"]
            why = _(
                "Nothing was sent: %(count)d clients wait for their next attempt after an "
                "earlier failure, the first at %(at)s."
            ) % {
                "count": waiting_count,
                "at": timezone.localtime(earliest).strftime("%H:%M:%S"),
            }
        elif due_states(practice).exists():
            why = _("Nothing was sent: the due clients are being pushed by another process.")
        else:
            why = _("Nothing was sent: every client is in the ledger as Kring holds it.")
        self.stdout.write(why)
