"""People of the world and the ways each system gets them slightly wrong."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sandbox import draws

FIRST_NAMES = (
    "Olivia", "Jack", "Charlotte", "William", "Amelia", "Noah", "Isla", "Thomas", "Mia", "James",
    "Grace", "Lucas", "Chloe", "Henry", "Ruby", "Oliver", "Zoe", "Leo", "Sophie", "Harrison",
    "Matilda", "Cooper", "Ava", "Archie", "Harper", "Lachlan", "Ella", "Hamish", "Evie", "Angus",
)
NICKNAMES = {
    "William": "Will", "Thomas": "Tom", "James": "Jim", "Charlotte": "Charlie", "Amelia": "Millie",
    "Oliver": "Ollie", "Harrison": "Harry", "Matilda": "Tilly", "Lachlan": "Lachie", "Sophie": "Soph",
}
LAST_NAMES = (
    "Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Nguyen", "Johnson", "Martin", "White",
    "Anderson", "Walker", "Thompson", "Harris", "Lee", "Ryan", "Robinson", "Kelly", "King", "Murphy",
    "Campbell", "Mitchell", "O'Brien", "Clarke", "Hughes", "Chen", "Patel", "Kowalski", "Rossi", "Papadopoulos",
)
STREETS = (
    "Main Rd", "Point Nepean Rd", "Red Hill Rd", "Arthurs Seat Rd", "Mornington-Flinders Rd",
    "Shoreham Rd", "Myers Rd", "Stanleys Rd", "Bittern-Dromana Rd", "Nepean Hwy",
)
SUBURBS = (
    ("Red Hill", "3937"), ("Dromana", "3936"), ("Mornington", "3931"), ("Rosebud", "3939"),
    ("Flinders", "3929"), ("Sorrento", "3943"), ("Rye", "3941"), ("Balnarring", "3926"),
)
DOMAINS = ("gmail.com", "outlook.com", "bigpond.com", "icloud.com", "yahoo.com.au", "optusnet.com.au")


@dataclass(slots=True)
class Address:
    line1: str
    city: str
    postcode: str
    state: str = "VIC"
    country: str = "AU"


@dataclass(slots=True)
class Person:
    """The truth about one person; systems hold noisy copies of it."""

    person_id: int
    first_name: str
    last_name: str
    email: str  # canonical: lowercase, trimmed
    mobile: str  # canonical E.164, +614XXXXXXXX
    address: Address


def make_person(rng: random.Random, person_id: int) -> Person:
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    local = f"{first}.{last}".lower().replace("'", "")
    email = f"{local}{person_id}@{rng.choice(DOMAINS)}"
    below = draws.below(rng)  # rng.randrange(n), cheaper (same draws)
    mobile = "+614" + "".join([str(below(10)) for _ in range(8)])
    return Person(person_id, first, last, email, mobile, random_address(rng))


def random_address(rng: random.Random) -> Address:
    city, postcode = rng.choice(SUBURBS)
    return Address(f"{rng.randrange(1, 400)} {rng.choice(STREETS)}", city, postcode)


def email_variant_code(rng: random.Random) -> int:
    """How a person will type their email into a form (see `apply_email_variant`), as a small code."""
    roll = rng.random()
    if roll < 0.15:
        return 1
    if roll < 0.22:
        return 2
    if roll < 0.30:
        return 3
    return 0


def apply_email_variant(code: int, email: str) -> str:
    """The email as typed: case and stray whitespace (code from `email_variant_code`)."""
    if code == 1:
        local, domain = email.split("@")
        return f"{local.title()}@{domain}"
    if code == 2:
        return f" {email.upper()} "
    if code == 3:
        return f"{email} "
    return email


def email_variant(rng: random.Random, email: str) -> str:
    """How a person types their email into a form: case and stray whitespace."""
    return apply_email_variant(email_variant_code(rng), email)


def phone_variant_code(rng: random.Random) -> int:
    return rng.randrange(4)


def apply_phone_variant(code: int, mobile: str) -> str:
    """The same mobile as people write it: 0412 345 678, +61 412 345 678, 0412345678."""
    digits = mobile[3:]  # 4XXXXXXXX
    if code == 0:
        return f"0{digits[:3]} {digits[3:6]} {digits[6:]}"
    if code == 1:
        return f"+61 {digits[:3]} {digits[3:6]} {digits[6:]}"
    if code == 2:
        return f"0{digits}"
    return mobile


def phone_variant(rng: random.Random, mobile: str) -> str:
    """The same mobile as people write it: 0412 345 678, +61 412 345 678, 0412345678."""
    return apply_phone_variant(phone_variant_code(rng), mobile)


def name_variant_code(rng: random.Random, first: str) -> int:
    """0: as is, 1: nickname, 2 + i: letters i and i + 1 swapped (see `apply_name_variant`)."""
    roll = rng.random()
    if roll < 0.15 and first in NICKNAMES:
        return 1
    if roll < 0.20 and len(first) > 3:
        return 2 + rng.randrange(1, len(first) - 1)
    return 0


def apply_name_variant(code: int, first: str) -> str:
    if code == 1:
        return NICKNAMES[first]
    if code >= 2:
        i = code - 2
        return first[:i] + first[i + 1] + first[i] + first[i + 2 :]
    return first


def name_variant(rng: random.Random, first: str) -> str:
    """Nicknames and the odd typo."""
    return apply_name_variant(name_variant_code(rng, first), first)
