"""The settings gunicorn runs under in `make bench`'s concurrent part: production's, DEBUG off.

Only the static files storage differs: the bench does not run `collectstatic`, and the manifest
storage would refuse every `{% static %}` without its manifest. No static file is requested.
"""

from config.settings import *  # noqa: F403

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
