"""Keep secrets and people out of every message: URLs print with their password masked, and email
addresses and phone numbers (a retailer's customers) print as placeholders.

Names and street addresses cannot be told from other words by a pattern: Seamline's own messages
never include record values, and `install_log_masking` catches the emails and phones a vendor's
error message may echo back."""

from __future__ import annotations

import re
import traceback
from urllib.parse import urlsplit, urlunsplit

MASK = "****"

_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]*)@")
_KEY_VALUE = re.compile(
    r"(?i)(?P<key>password|secret|api_key|token|consumer_secret|consumer_key|refresh_token|access_token)"
    r"(?P<sep>\s*[=:]\s*)(?P<value>[^\s&,'\"]+)"
)


# not the user@host of a URL: the operator needs to see which server was meant
_EMAIL = re.compile(r"(?i)(?<![\w.+-])(?<!://)[\w.+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}")
# an international (+61 4..) or national (04.., 03 ..) number in groups; dates and times do not
# start with + or 0 followed by a digit; a dash on either side makes it part of an id (a UUID)
_PHONE = re.compile(r"(?<![\w+-])(?:\+\d{1,3}[ -]?\(?\d{1,4}\)?|\(?0\d{1,4}\)?)(?:[ -]?\d{2,4}){2,3}(?![\w-])")
EMAIL_MASK = "<email>"
PHONE_MASK = "<phone>"


def mask_pii(text: str) -> str:
    """Email addresses and phone numbers replaced by placeholders."""
    if "@" in text:
        text = _EMAIL.sub(EMAIL_MASK, text)
    return _PHONE.sub(PHONE_MASK, text)


def install_log_masking() -> None:
    """Mask every log record of the process (Seamline's, dlt's, dbt's, Prefect's, whichever handler
    writes it: console, file or the Prefect API) as it is made, exception text included."""
    import logging

    current = logging.getLogRecordFactory()
    if getattr(current, "masks", False):
        return

    def factory(*args, **kwargs):
        record = current(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own error report
            return record
        record.msg, record.args = mask_text(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        return record

    factory.masks = True
    logging.setLogRecordFactory(factory)


def mask_url(url: str) -> str:
    """Return the URL with any password replaced by a mask; other parts are kept."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_text(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{user}:{MASK}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def mask_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Everything a message must not show: URL passwords, `key=value` secrets, the literal secret
    values given, then emails and phone numbers."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    text = _KEY_VALUE.sub(lambda m: f"{m['key']}{m['sep']}{MASK}", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return mask_pii(text)
