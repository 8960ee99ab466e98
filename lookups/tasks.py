"""The VAT check as a task (sent by name from lookups.services.queue_vat_check)."""

from __future__ import annotations

from celery import shared_task

from lookups import services
from relations.models import Relation


@shared_task(name=services.VAT_TASK, ignore_result=True, soft_time_limit=30, time_limit=40)
def check_vat(relation_id: int) -> str:
    relation = Relation.objects.filter(pk=relation_id).first()
    if relation is None:
        return ""
    result = services.check_vat(relation)
    return result.status if result else ""
