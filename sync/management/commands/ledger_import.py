import time
from typing import TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.utils.translation import gettext as _

from practice.models import Practice
from sync.importer import Outcome, kept_count, run_import
from sync.models import ImportRun
from sync.tasks import analyze_imported

BAR_WIDTH = 30


class ProgressBar:
    """`[#####     ] 1000/2000` redrawn in place (or a count, when the ledger cannot say the total)."""

    def __init__(self, out: OutputWrapper | TextIO) -> None:
        self.out = out
        self.started = time.monotonic()
        self.drawn = False

    def update(self, processed: int, total: int) -> None:
        if total:
            filled = min(BAR_WIDTH, BAR_WIDTH * processed // total)
            line = f"[{'#' * filled}{' ' * (BAR_WIDTH - filled)}] {processed}/{total}"
        else:
            line = _("%(processed)d debtors processed") % {"processed": processed}
        elapsed = time.monotonic() - self.started
        if processed and elapsed > 0:
            line += "  " + _("%(rate)d debtors/s") % {"rate": processed / elapsed}
        self._write("\r" + line)
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self._write("\n")

    def _write(self, text: str) -> None:
        if isinstance(self.out, OutputWrapper):
            # Not the error style stderr has by default: this is progress, not a problem.
            self.out.write(text, style_func=lambda s: s, ending="")
        else:
            self.out.write(text)
        self.out.flush()


class Command(BaseCommand):
    help = (
        "Import every debtor of a practice's ledger as a client, with addresses and bank accounts. "
        "Matched on code: running it again changes only what changed in the ledger, and after a "
        "crash it goes on where it stopped. Progress goes to stderr, the summary to stdout."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The practice's slug.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Show what the import would do; write nothing (except the run's own record).",
        )

    def handle(self, *args, slug: str, dry_run: bool, **options) -> None:
        practice = Practice.objects.filter(slug=slug).first()
        if practice is None:
            raise CommandError(_("No practice with slug %(slug)r.") % {"slug": slug})
        bar = ProgressBar(self.stderr)

        def waiting(seconds: float, reason: str) -> None:
            bar.finish()
            bar.drawn = False
            self.stdout.write(
                _("Twinfield asks to wait %(seconds)s s… (%(reason)s)")
                % {"seconds": f"{seconds:.3g}", "reason": reason}
            )

        try:
            run = run_import(
                practice=practice, dry_run=dry_run, progress=bar.update, on_wait=waiting
            )
        except Exception as exc:
            bar.finish()
            stopped = ImportRun.objects.filter(practice=practice).order_by("-pk").first()
            raise CommandError(stopped.error if stopped and stopped.error else str(exc)) from exc
        bar.finish()
        if (run.created or run.updated) and not run.dry_run:
            analyze_imported()
        if run.dry_run:
            self.stdout.write(_("Dry run: nothing was written."))
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "%(processed)d debtors: %(created)d created, %(updated)d updated, "
                    "%(unchanged)d unchanged, %(kept)d kept (Kring's change pending), "
                    "%(failed)d failed."
                )
                % {
                    "processed": run.processed,
                    "created": run.created,
                    "updated": run.updated,
                    "unchanged": run.unchanged,
                    "kept": kept_count(run),
                    "failed": run.failed,
                }
            )
        )
        headings = {
            Outcome.FAILED: _("Failed:"),
            Outcome.KEPT: _("Kept Kring's pending change:"),
        }
        for outcome, heading in headings.items():
            entries = [e for e in run.report if e["outcome"] == outcome]
            if entries:
                self.stdout.write(heading)
                for entry in entries:
                    self.stdout.write(f"  {entry['code']}: {'; '.join(entry['messages'])}")
        review = [e for e in run.report if e.get("review")]
        if review:
            self.stdout.write(
                _("%(count)d debtors to review (kept as imported, flagged on the client):")
                % {"count": len(review)}
            )
            for entry in review:
                self.stdout.write(f"  {entry['code']}: {'; '.join(entry['messages'])}")
        remarks = [
            e
            for e in run.report
            if e["messages"] and e["outcome"] not in headings and not e.get("review")
        ]
        if remarks:
            self.stdout.write(_("Imported with remarks:"))
            for entry in remarks:
                self.stdout.write(f"  {entry['code']}: {'; '.join(entry['messages'])}")
