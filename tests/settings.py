"""The test run's settings: Kring's settings with the environment defaults a test needs.

Only what a test run must differ in lives here; everything else is config.settings itself.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-" + "k" * 50)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# The live-server browser tests speak plain HTTP, where a Secure cookie would never come back.
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")

from config.settings import *  # noqa: F403

# Hashing cost is not under test; MD5 keeps the login-heavy suite quick.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Tasks run in-process unless an integration test starts a real worker (tests/sync/test_worker.py
# switches the Celery app itself to the broker in CELERY_BROKER_URL).
CELERY_TASK_ALWAYS_EAGER = True
