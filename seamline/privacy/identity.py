"""What identifies an erased person, as one-way hashes (sha256 hex), and the same hashes in SQL.

- email: of the address lowercased and trimmed;
- phone: of its last nine digits (an Australian mobile's national number, however it was written:
  `0412 345 678`, `+61 412 345 678`, `+61412345678`);
- key: of `<source>.<table>:<id>`, the person's own id at a vendor (a WooCommerce customer id, a
  Klaviyo profile id, a Xero ContactID), so rows that point at them only by id are found too.

At erase time the plain email and phones are known and also used to find mentions in free text and
payloads; they are never stored or printed. Later syncs have only the hashes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from seamline.errors import SeamlineError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_DIGITS = 9


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalize_email(email: str) -> str:
    normalized = (email or "").strip().lower()
    if not _EMAIL.match(normalized):
        raise SeamlineError("erase: --email is not an email address (expected name@domain)")
    return normalized


def phone_tail(phone: str | None) -> str | None:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-PHONE_DIGITS:] if len(digits) >= PHONE_DIGITS else None


def key_hash(scope: str, value) -> str:
    return sha256_hex(f"{scope}:{value}")


# -- the same hashes computed by Postgres over a column ---------------------------------------------
def email_hash_sql(column: str) -> str:
    return f"encode(sha256(convert_to(lower(trim({column})), 'UTF8')), 'hex')"


def phone_hash_sql(column: str) -> str:
    digits = f"regexp_replace({column}, '\\D', '', 'g')"
    return (f"case when length({digits}) >= {PHONE_DIGITS} "
            f"then encode(sha256(convert_to(right({digits}, {PHONE_DIGITS}), 'UTF8')), 'hex') end")


def key_hash_sql(column: str, scope_param: str) -> str:
    return f"encode(sha256(convert_to({scope_param} || ':' || {column}::text, 'UTF8')), 'hex')"


@dataclass
class Identity:
    """Hashes that pick out erased people; `mentions` (plain, lowercase) only during an erase."""

    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    keys: dict[str, set[str]] = field(default_factory=dict)  # "<source>.<table>" -> key hashes
    mentions: set[str] = field(default_factory=set)

    @classmethod
    def for_email(cls, email: str) -> Identity:
        normalized = normalize_email(email)
        return cls(emails={sha256_hex(normalized)}, mentions={normalized})

    @classmethod
    def from_rows(cls, rows) -> Identity:
        """From (kind, scope, sha256) rows, as `rows()` gives and ops.erasure_identifiers keeps."""
        identity = cls()
        for kind, scope, value in rows:
            if kind == "email":
                identity.emails.add(value)
            elif kind == "phone":
                identity.phones.add(value)
            else:
                identity.keys.setdefault(scope, set()).add(value)
        return identity

    @property
    def empty(self) -> bool:
        return not (self.emails or self.phones or any(self.keys.values()))

    def size(self) -> int:
        return len(self.emails) + len(self.phones) + sum(len(v) for v in self.keys.values())

    def add_phone(self, phone: str | None) -> None:
        tail = phone_tail(phone)
        if tail is None:
            return
        self.phones.add(sha256_hex(tail))
        if self.mentions:  # an erase: the written forms are searched in free text and payloads too
            self.mentions.update({tail, f"{tail[:3]} {tail[3:6]} {tail[6:]}"})

    def add_key(self, scope: str, value) -> None:
        if value is None or str(value) in ("", "0"):  # 0: WooCommerce's guest, nobody's id
            return
        self.keys.setdefault(scope, set()).add(key_hash(scope, value))

    def rows(self) -> list[tuple[str, str, str]]:
        """(kind, scope, sha256) for ops.erasure_identifiers."""
        out = [("email", "", h) for h in sorted(self.emails)] + [("phone", "", h) for h in sorted(self.phones)]
        out += [("key", scope, h) for scope, hashes in sorted(self.keys.items()) for h in sorted(hashes)]
        return out
