"""Notifications over SMTP: stdlib smtplib in a worker thread, so the event loop never blocks.

SMTP cannot deduplicate, so "once per key" is as good as the transport allows: every recipient
must be accepted before the message is sent (a refusal sends nothing), and the Message-ID is
derived from the e-mail's key, so a resend after a lost reply is recognisable as the same message.
"""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, parseaddr

from backend.domains.tenants.providers.protocol import (
    Email,
    Notifier,
    PermanentProviderError,
    ProviderError,
)

TIMEOUT_SECONDS = 10.0
ACCEPTED_RECIPIENT = (250, 251)


def message_id(key: str, sender: str) -> str:
    """The Message-ID of the e-mail with this key: the same key always gives the same id."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "flightdeck.invalid"
    return f"<{digest}@{domain}>"


class SmtpNotifier(Notifier):
    """Sends each e-mail through an SMTP relay (optional STARTTLS and login)."""

    def __init__(
        self,
        host: str,
        *,
        sender: str,
        port: int = 587,
        starttls: bool = True,
        username: str | None = None,
        password: str | None = None,
        timeout: float = TIMEOUT_SECONDS,
        local_hostname: str | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.starttls = starttls
        self._login = (username, password or "") if username else None
        self._timeout = timeout
        self._local_hostname = local_hostname
        self._tls_context = tls_context

    async def send(self, email: Email) -> str:
        """Deliver the e-mail to every recipient or to none; its Message-ID."""
        if not email.to:
            raise PermanentProviderError(f"e-mail {email.key} has no recipients")
        mid = message_id(email.key, self.sender)
        try:
            content = self._compose(email, mid)
        except ValueError as err:
            raise PermanentProviderError(f"e-mail {email.key} cannot be composed: {err}") from err
        try:
            await asyncio.to_thread(self._deliver, content, email.to)
        except smtplib.SMTPAuthenticationError as err:
            hint = "; check FLIGHTDECK_SMTP_USERNAME and FLIGHTDECK_SMTP_PASSWORD"
            raise _refusal(err.smtp_code, err.smtp_error, self._where, "the login", hint) from err
        except smtplib.SMTPResponseException as err:
            raise _refusal(err.smtp_code, err.smtp_error, self._where) from err
        except smtplib.SMTPNotSupportedError as err:
            hint = "; set FLIGHTDECK_SMTP_STARTTLS=false" if "STARTTLS" in str(err) else ""
            raise PermanentProviderError(f"SMTP server {self._where}: {err}{hint}") from err
        except smtplib.SMTPServerDisconnected as err:
            raise ProviderError(f"SMTP server {self._where} disconnected: {err}") from err
        except smtplib.SMTPException as err:
            raise PermanentProviderError(f"SMTP server {self._where}: {err}") from err
        except ssl.SSLCertVerificationError as err:
            raise PermanentProviderError(
                f"SMTP server {self._where} has an untrusted certificate: {err.verify_message}"
            ) from err
        except OSError as err:
            why = err.strerror or str(err) or type(err).__name__
            raise ProviderError(f"SMTP server {self._where} unreachable: {why}") from err
        return mid

    async def aclose(self) -> None:
        """Nothing to close: each send opens and closes its own connection."""

    @property
    def _where(self) -> str:
        return f"{self.host}:{self.port}"

    def _compose(self, email: Email, mid: str) -> bytes:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(email.to)
        message["Subject"] = email.subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = mid
        message.set_content(email.body)
        return message.as_bytes(policy=SMTP_POLICY)

    def _deliver(self, content: bytes, recipients: list[str]) -> None:
        """The blocking SMTP session (runs in a worker thread)."""
        smtp = smtplib.SMTP(
            self.host, self.port, local_hostname=self._local_hostname, timeout=self._timeout
        )
        try:
            smtp.ehlo_or_helo_if_needed()
            if self.starttls:
                smtp.starttls(context=self._tls_context or ssl.create_default_context())
                smtp.ehlo()
            if self._login:
                smtp.login(*self._login)
            envelope_from = parseaddr(self.sender)[1] or self.sender
            code, reply = smtp.mail(envelope_from)
            if code != 250:
                raise _refusal(code, reply, self._where, f"sender {envelope_from}")
            for recipient in recipients:
                code, reply = smtp.rcpt(recipient)
                if code not in ACCEPTED_RECIPIENT:
                    raise _refusal(code, reply, self._where, f"recipient {recipient}")
            code, reply = smtp.data(content)
            if code != 250:
                raise _refusal(code, reply, self._where, "the message")
        finally:
            _quit(smtp)


def _refusal(
    code: int, reply: bytes | str, where: str, what: str = "", hint: str = ""
) -> Exception:
    """ProviderError for a transient reply (4xx, or a 4.x.x enhanced status), else permanent
    (with the hint)."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    text = " ".join(text.split())[:200]
    refused = f" refused {what}" if what else " answered"
    message = f"SMTP server {where}{refused}: {code} {text}".rstrip()
    if code < 500 or text.startswith("4."):
        return ProviderError(message)
    return PermanentProviderError(message + hint)


def _quit(smtp: smtplib.SMTP) -> None:
    """End the session politely; a failing QUIT must not turn a delivery into a failure."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
