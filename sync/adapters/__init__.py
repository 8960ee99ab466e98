"""Ledger adapters: `local` (the embedded default) and `twinfield`. `adapter_for` picks a practice's."""

from __future__ import annotations

from practice.models import Practice
from sync.adapters.base import LedgerAdapter


def adapter_for(practice: Practice) -> LedgerAdapter:
    from sync.models import LedgerConnection

    connection = LedgerConnection.objects.filter(practice=practice).first()
    if connection is None or connection.adapter == LedgerConnection.Adapter.LOCAL:
        from sync.adapters.local import LocalAdapter

        return LocalAdapter(practice)
    from sync.adapters.twinfield import TwinfieldAdapter

    return TwinfieldAdapter(connection)
