from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PracticeConfig(AppConfig):
    name = "practice"
    verbose_name = _("Practice")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from practice import accounts, audit, home, two_step
        from practice.middleware import start_session_clock

        audit.connect_signals()
        two_step.connect_signals()
        accounts.connect_signals()
        home.register()
        user_logged_in.connect(start_session_clock, dispatch_uid="kring-session-clock")
