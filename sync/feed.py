"""The ledger's change feed: which debtors Kring must read before it writes over them.

Reading every debtor before writing it (the conflict check) costs a request per debtor with
Twinfield's documented calls. A ledger with a change feed (sync.adapters.base.ChangeFeed: the
Finder's `modifiedsince`, TWINFIELD.md §3.2's incremental-sync recipe) tells how many debtors
changed at or after a moment, and which; Kring then reads only those that may have changed since
it last saw them.

* Every record Kring sees (imported, read, or echoed by its own write) is kept with the ledger's
  stamp of it (`remote_modified`, to the second) and is *verified*: pushed without a read for as
  long as no check finds it changed since.
* A check at a threshold t: the ledger counts the debtors changed at or after t. Every record
  Kring saw stamped at or after t is among them (stamps only grow), so equal counts mean no other
  debtor changed at or after t. Otherwise the ledger lists the codes, and each record among them
  that Kring saw stamped before t is marked unverified (read before its next push).
* The thresholds: G (`LedgerConnection.changes_since`) for all records, and the second after
  each of the newest FEED_SECONDS stamps among records seen at or after G (which asks, for the
  records seen in that second, whether any changed after it). Records seen at or after G in
  older seconds are marked unverified instead.
* G then moves to the newest stamp Kring saw before the check: a second the ledger had reached.

What this cannot see: a change made in the same second as the one Kring saw, and one made between
a check and a write (a drain checks when it starts, then at most every SYNC_CHANGE_CHECK_SECONDS);
a read before each write has the same race over one request. A debtor deleted in the ledger while
another changes leaves the counts equal: that change is seen at the next change to either.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Max, Q
from django.utils import timezone

from practice.models import Practice
from sync.adapters.base import ChangeFeed, chunks
from sync.models import LedgerConnection, SyncState

# A change feed starts this long before Kring's clock says "now": the ledger stamps changes in its
# own clock and time zone, which no offset or skew on earth puts a day away from ours.
CHANGE_FEED_MARGIN = timedelta(days=1)
FEED_SECONDS = 3  # the newest seconds of records Kring saw that a check verifies one by one
STAMP_FORMAT = "%Y%m%d%H%M%S"  # the ledger's stamps (Twinfield's `modified`, its `modifiedsince`)


def ledger_stamp(moment: datetime) -> str:
    return moment.strftime(STAMP_FORMAT)


def start_change_feed(practice: Practice) -> None:
    """Before Kring takes in the ledger's records (an import), or the first time it checks: G goes
    back to a day before now, so everything changed since the records are read will be reported."""
    floor = ledger_stamp(timezone.now() - CHANGE_FEED_MARGIN)
    LedgerConnection.objects.filter(practice=practice).filter(
        Q(changes_since="") | Q(changes_since__gt=floor)
    ).update(changes_since=floor)


def check_ledger_changes(connection: LedgerConnection, feed: ChangeFeed) -> None:
    """One check of the change feed (see above); raises LedgerError when the ledger cannot say."""
    since = (
        LedgerConnection.objects.filter(pk=connection.pk)
        .values_list("changes_since", flat=True)
        .get()
    )
    states = SyncState.objects.filter(practice_id=connection.practice_id)
    if not since:
        states.filter(remote_verified=True).update(remote_verified=False)
        start_change_feed(connection.practice)
        return
    seen = states.exclude(remote_modified="")
    latest = seen.aggregate(latest=Max("remote_modified"))["latest"] or since
    recent = seen.filter(remote_modified__gte=since)
    # The newest few seconds in which Kring saw records (its own writes, mostly) are checked one
    # by one; records seen in older seconds since G are read at their next push instead.
    stamps = list(
        recent.filter(remote_verified=True)
        .order_by("-remote_modified")
        .values_list("remote_modified", flat=True)
        .distinct()[:FEED_SECONDS]
    )
    # (threshold, its count): every debtor changed at or after the threshold that Kring did not
    # see at or after it has changed since Kring saw it. G itself for all debtors, and the second
    # after each stamp for the records seen in that second.
    thresholds = [since, *(_next_second(stamp) for stamp in stamps)]
    for threshold in thresholds:
        if (
            feed.count_changed_since(threshold)
            == seen.filter(remote_modified__gte=threshold).count()
        ):
            continue
        codes = sorted(feed.codes_changed_since(threshold))
        for part in chunks(codes, 1000):
            states.filter(
                relation__client_code__in=part,
                remote_verified=True,
                remote_modified__lt=threshold,
            ).update(remote_verified=False)
    if stamps:
        recent.filter(remote_verified=True, remote_modified__lt=stamps[-1]).update(
            remote_verified=False
        )
    # Conditional: an import that moved G back meanwhile keeps its earlier G.
    LedgerConnection.objects.filter(pk=connection.pk, changes_since=since).update(
        changes_since=max(since, latest)
    )


def _next_second(stamp: str) -> str:
    return ledger_stamp(datetime.strptime(stamp, STAMP_FORMAT) + timedelta(seconds=1))
