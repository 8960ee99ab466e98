"""Kring's mails: plain text, readable as they are."""

from __future__ import annotations

from django.core.mail import EmailMessage


class PlainTextMail(EmailMessage):
    """A text mail sent as 8bit UTF-8, readable as it is (in the console backend of the demo too).

    Python picks quoted-printable for a line over 78 characters, such as an invitation link, and
    then breaks it with "=" at the end of a line: copied from the console, the link no longer works.
    8bit allows lines up to 998 characters, which every mail server of the last decades accepts.
    """

    def message(self, **kwargs):
        msg = super().message(**kwargs)
        if not msg.is_multipart():
            msg.set_content(
                self.body,
                subtype=self.content_subtype,
                charset=self.encoding or "utf-8",
                cte="8bit",
            )
        return msg
