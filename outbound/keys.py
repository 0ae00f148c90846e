"""Deterministic idempotency keys and PII-free request summaries."""

from __future__ import annotations

import hashlib
import re

from seamline import masking

# bump to make every job write again under new keys (never needed in normal operation)
PAYLOAD_VERSION = "1"

_PII_FIELDS = {"email", "emailaddress", "name", "firstname", "lastname", "first_name", "last_name", "phone",
               "phone_number", "address", "address1", "address_1", "addresses", "phones", "customer_email"}


def idempotency_key(job: str, local_key: str, version: str = "") -> str:
    """sha256 of the job, the local key and what makes a new write necessary (`version`: e.g. the
    target stock). The same row gives the same key in every run, so a vendor that honours keys
    answers a repeat with the object it made the first time."""
    text = f"seamline-outbound:{PAYLOAD_VERSION}:{job}:{local_key}:{version}"
    return hashlib.sha256(text.encode()).hexdigest()


def pii_free(value):
    """A copy of a request summary without personal fields, and with any email masked."""
    if isinstance(value, dict):
        return {k: pii_free(v) for k, v in value.items() if k.replace("-", "_").lower() not in _PII_FIELDS}
    if isinstance(value, list):
        return [pii_free(v) for v in value]
    if isinstance(value, str):
        return masking.mask_pii(value)
    return value


def mask_pii(text: str, values: tuple[str | None, ...] = ()) -> str:
    """A vendor message with emails and phones, and the row's own personal values (a name), masked."""
    text = masking.mask_pii(text)
    for value in values:
        if value and len(value) >= 2:
            text = re.sub(re.escape(value), masking.MASK, text, flags=re.IGNORECASE)
    return text
