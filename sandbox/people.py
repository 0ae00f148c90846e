"""People of the world and the ways each system gets them slightly wrong."""

from __future__ import annotations

import random
from dataclasses import dataclass

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


@dataclass
class Address:
    line1: str
    city: str
    postcode: str
    state: str = "VIC"
    country: str = "AU"


@dataclass
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
    mobile = "+614" + "".join(str(rng.randrange(10)) for _ in range(8))
    return Person(person_id, first, last, email, mobile, random_address(rng))


def random_address(rng: random.Random) -> Address:
    city, postcode = rng.choice(SUBURBS)
    return Address(f"{rng.randrange(1, 400)} {rng.choice(STREETS)}", city, postcode)


def email_variant(rng: random.Random, email: str) -> str:
    """How a person types their email into a form: case and stray whitespace."""
    roll = rng.random()
    if roll < 0.15:
        local, domain = email.split("@")
        return f"{local.title()}@{domain}"
    if roll < 0.22:
        return f" {email.upper()} "
    if roll < 0.30:
        return f"{email} "
    return email


def phone_variant(rng: random.Random, mobile: str) -> str:
    """The same mobile as people write it: 0412 345 678, +61 412 345 678, 0412345678."""
    digits = mobile[3:]  # 4XXXXXXXX
    style = rng.randrange(4)
    if style == 0:
        return f"0{digits[:3]} {digits[3:6]} {digits[6:]}"
    if style == 1:
        return f"+61 {digits[:3]} {digits[3:6]} {digits[6:]}"
    if style == 2:
        return f"0{digits}"
    return mobile


def name_variant(rng: random.Random, first: str) -> str:
    """Nicknames and the odd typo."""
    roll = rng.random()
    if roll < 0.15 and first in NICKNAMES:
        return NICKNAMES[first]
    if roll < 0.20 and len(first) > 3:
        i = rng.randrange(1, len(first) - 1)
        return first[:i] + first[i + 1] + first[i] + first[i + 2 :]
    return first
