from celery import shared_task

from work import digest


@shared_task(name="work.daily_digest", ignore_result=True)
def daily_digest() -> int:
    return digest.send_digests()
