import logging
import re

# secrets.token_urlsafe() output after the accept path, wherever the portal is mounted.
_ACCEPT_TOKEN = re.compile(r"(/accept/)[A-Za-z0-9_\-]+")


class RedactInvitationTokens(logging.Filter):
    """Replace the token in any logged accept URL with "…": the token is a password until used."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/accept/" in message:
            record.msg = _ACCEPT_TOKEN.sub(r"\1…", message)
            record.args = ()
        return True
