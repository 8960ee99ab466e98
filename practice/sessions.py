"""The session store: Django's database sessions, remembering when the loaded session expires.

`practice.middleware.SessionIdleMiddleware` renews a session's 30-minute idle window at most once a
minute from what this store read, so a page view reads its session and writes nothing (Django's
`SESSION_SAVE_EVERY_REQUEST` would write the session row on every request).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    # When the session read from the database expires; None for a new or unsaved session.
    loaded_expire_date: datetime | None = None

    def _get_session_from_db(self):
        session = super()._get_session_from_db()
        self.loaded_expire_date = session.expire_date if session is not None else None
        return session
