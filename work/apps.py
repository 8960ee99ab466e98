from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkConfig(AppConfig):
    name = "work"
    verbose_name = _("Work processes")

    def ready(self) -> None:
        # Relations and practice cannot import this app (imports run downwards): the tab, the home
        # panel and the new practice's deadline kinds are registered with them from here.
        from django.db.models.signals import post_save

        from practice.models import Practice
        from work import office

        post_save.connect(office.seed_new_practice, sender=Practice, dispatch_uid="work-seed")
        office.register()
