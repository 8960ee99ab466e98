"""Kring's one settings module: every deploy-specific value comes from the environment (or `.env`)."""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# A missing key must never fall back to a public one in production: only DEBUG gets a throwaway key.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-kring-development-only"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "practice",
    "relations",
    "connections",
    "portal",
    "sync",
    "lookups",
    "collab",
    "work",
    "axes",
    # Two-step login (practice.two_step): TOTP devices and the recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Outside CSRF, so that CSRF failures are audited with the other 403s.
    "practice.middleware.AuditMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "practice.middleware.SessionLifetimeMiddleware",
    "practice.middleware.SessionIdleMiddleware",
    "practice.middleware.CurrentPracticeMiddleware",
    # After the practice is known: a member who still owes the second step (or whose office requires
    # two-step login and who has none yet) goes there first.
    "practice.two_step.TwoStepMiddleware",
    # The language chosen under Mijn account, applied once per session (then the menu's choice rules).
    "practice.accounts.AccountLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as axes asks: turns a request its backend refused into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "practice.context_processors.practice",
            ],
        },
    },
]

# SQLite is the zero-setup default (`make run`); production and CI use PostgreSQL via DATABASE_URL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web process, worker and beat may share the file: take the write lock at BEGIN (no deadlocking
    # upgrade from reader to writer) and wait for a lock rather than fail at once.
    sqlite_options = DATABASES["default"].setdefault("OPTIONS", {})
    sqlite_options.setdefault("transaction_mode", "IMMEDIATE")
    sqlite_options.setdefault("timeout", 30)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins are throttled by django-axes per username and IP together: after LOGIN_FAILURE_LIMIT
# failures that pair is refused for LOGIN_COOLOFF_MINUTES (then it may try again; never a permanent
# lockout, and the real user on another address is not locked out by someone guessing elsewhere).
# The database handler keeps the count in the same database as everything else, so every web
# process agrees, and tests roll it back with their transaction.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesBackend",
    "django.contrib.auth.backends.ModelBackend",
    "portal.backends.PortalBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Attempts refused during the cool-off do not extend it: it ends LOGIN_COOLOFF_MINUTES after the
# failure that started it, however often someone keeps trying.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "practice.audit.attempted_username"
AXES_CLIENT_IP_CALLABLE = "practice.audit.client_ip"
# Reverse proxies in front of Kring that append the client's address to X-Forwarded-For (nginx with
# $proxy_add_x_forwarded_for: 1). 0 trusts only REMOTE_ADDR. Behind a proxy, leaving it 0 makes
# every client share the proxy's address, so throttling falls back to per username.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_LOCKOUT_CALLABLE = "practice.audit.locked_out"
AXES_CLIENT_STR_CALLABLE = "practice.audit.axes_client_str"
# Sign-ins are in practice.AuditEvent; axes keeps only the failure counts. Its record of the posted
# form masks these fields (the password always).
AXES_DISABLE_ACCESS_LOG = True
AXES_SENSITIVE_PARAMETERS = ["username", "email", "ip_address", "bsn"]
# A refused form post gets Kring's own page (layout, language, what to do), not Django's bare one.
CSRF_FAILURE_VIEW = "practice.views.csrf_failure"

# The authenticator app shows Kring under this name; codes are valid one step either side.
OTP_TOTP_ISSUER = "Kring"
# Password reset mails: per address and per client address, at most this many in an hour (the
# answer is the same either way). Counted in the cache (the default local-memory one per process).
PASSWORD_RESET_LIMIT_PER_ADDRESS = env.int("PASSWORD_RESET_LIMIT_PER_ADDRESS", default=3)
PASSWORD_RESET_LIMIT_PER_IP = env.int("PASSWORD_RESET_LIMIT_PER_IP", default=20)
PASSWORD_RESET_TIMEOUT = 24 * 60 * 60

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions: 30 minutes idle, 12 hours at most from login (practice.middleware.SessionLifetimeMiddleware).
# The idle window is renewed at most once a minute (SessionIdleMiddleware), not on every request: a
# page view that reads its session writes nothing.
SESSION_ENGINE = "practice.sessions"
SESSION_COOKIE_AGE = 30 * 60
SESSION_REFRESH_SECONDS = 60
SESSION_MAX_LIFETIME = 12 * 60 * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Dutch first; the user's choice (language cookie), else Accept-Language, else Dutch.
LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", _("Dutch")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English dates day-month-year with a 24-hour clock, as in the Netherlands (config/formats/en).
FORMAT_MODULE_PATH = ["config.formats"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Security headers. No inline script or style anywhere: htmx is told not to inject its indicator CSS.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True

# Mail goes to the console in development and over SMTP (MAIL_HOST and friends) otherwise.
MAIL_BACKEND = env.str(
    "MAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = {"default": {"BACKEND": MAIL_BACKEND}}
if MAIL_BACKEND.endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": env.str("MAIL_HOST", default="localhost"),
        "port": env.int("MAIL_PORT", default=587),
        "username": env.str("MAIL_USER", default=""),
        "password": env.str("MAIL_PASSWORD", default=""),
        "use_tls": env.bool("MAIL_USE_TLS", default=True),
        "timeout": 10,
    }
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Kring <kring@localhost>")

# Celery: without a broker, tasks run eagerly in-process (the `make run` default).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
# Chosen so that no ledger change is lost: a task is acknowledged only after it ran, goes back to the
# queue if its worker dies, and a worker takes one task at a time. Redis redelivers an unacknowledged
# task after the visibility timeout, which is above the longest task (5 min) and the longest backoff.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = False
# Celery's own schedule (django-celery-beat does not support Django 6.1 yet): the sweep that finds
# every due client, so a lost nudge only delays a push.
CELERY_BEAT_SCHEDULE = {
    "ledger-sweep": {
        "task": "sync.sweep",
        "schedule": env.float("LEDGER_SWEEP_SECONDS", default=60),
    },
    # Werkprocessen: each member's one e-mail of what is overdue and due today (work.digest).
    "work-daily-digest": {
        "task": "work.daily_digest",
        "schedule": crontab(hour=env.int("WORK_DIGEST_HOUR", default=7), minute=0),
    },
}

# Key for the ledger credentials at rest (Fernet, 32 url-safe base64 bytes:
# `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`).
# Unset, a key is derived from SECRET_KEY (a deploy check warns).
LEDGER_CREDENTIALS_KEY = env.str("LEDGER_CREDENTIALS_KEY", default="")
# How long a drain holds its claim on an office and on the rows it is pushing (seconds).
SYNC_LEASE_SECONDS = env.int("SYNC_LEASE_SECONDS", default=300)
# First retry delay after a retryable ledger failure; it doubles per attempt up to an hour.
SYNC_BACKOFF_BASE_SECONDS = env.float("SYNC_BACKOFF_BASE_SECONDS", default=30)
SYNC_BACKOFF_CAP_SECONDS = env.float("SYNC_BACKOFF_CAP_SECONDS", default=60 * 60)
# Retryable failures in a row before a client is marked failed (then a person presses Retry).
SYNC_RETRY_BUDGET = env.int("SYNC_RETRY_BUDGET", default=8)
# A push task is cut off after this long (soft: the drain records a retry and stops) and killed
# after the hard limit. The hard limit must not exceed the lease, or a second drain could take the
# office while the first still has a request in flight. The prefork pool enforces both.
SYNC_TASK_SOFT_TIME_LIMIT_SECONDS = env.int("SYNC_TASK_SOFT_TIME_LIMIT_SECONDS", default=240)
SYNC_TASK_TIME_LIMIT_SECONDS = env.int("SYNC_TASK_TIME_LIMIT_SECONDS", default=300)
# How often a drain asks a ledger with a change feed (Twinfield's Finder) what changed there, in
# seconds; it reads before writing only what may have. A change made in the ledger in the moments
# between a check and Kring's write of the same debtor can be overwritten (as between a read and a
# write); 0 checks before every batch.
SYNC_CHANGE_CHECK_SECONDS = env.float("SYNC_CHANGE_CHECK_SECONDS", default=1.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
