from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PracticeConfig(AppConfig):
    name = "practice"
    verbose_name = _("Practice")

    def ready(self) -> None:
        from practice import audit, home, two_step

        audit.connect_signals()
        two_step.connect_signals()
        home.register()
