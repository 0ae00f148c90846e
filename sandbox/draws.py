"""Cheaper spellings of `random.Random` draws that give exactly the numbers the usual calls give.

Building a million-order world makes tens of millions of draws; `rng.randint(a, b)` costs three
Python calls per number. In CPython, `randrange(a, b)` is `a + rng._randbelow(b - a)`,
`randint(a, b)` is `randrange(a, b + 1)`, `choice(seq)` is `seq[rng._randbelow(len(seq))]`, and
`sample` draws with `_randbelow` too. The hot loops call `below(n)` (= `rng._randbelow(n)`) and
`sample(below, population, k)` instead; the world stays the same, draw for draw. The equivalence
is checked once at import: if an interpreter ever draws differently, `below` falls back to
`rng.randrange(n)` (the world is then still deterministic, just not the same as before).
"""

from __future__ import annotations

import random
from math import ceil as _ceil
from math import log as _log


def _sample(below, population, k: int) -> list:
    """`random.Random.sample(population, k)` (CPython 3.11+ algorithm), drawing with `below`."""
    n = len(population)
    if not 0 <= k <= n:
        raise ValueError("Sample larger than population or is negative")
    result = [None] * k
    setsize = 21  # size of a small set minus size of an empty list
    if k > 5:
        setsize += 4 ** _ceil(_log(k * 3, 4))  # table size for big sets
    if n <= setsize:
        pool = list(population)
        for i in range(k):
            j = below(n - i)
            result[i] = pool[j]
            pool[j] = pool[n - i - 1]  # move non-selected item into vacancy
    else:
        selected = set()
        for i in range(k):
            j = below(n)
            while j in selected:
                j = below(n)
            selected.add(j)
            result[i] = population[j]
    return result


def _agrees() -> bool:
    if not hasattr(random.Random, "_randbelow"):
        return False
    a, b = random.Random("seamline:draws"), random.Random("seamline:draws")
    below = b._randbelow
    population = list(range(90))
    for n in (1, 2, 3, 4, 5, 7, 36, 100, 1000, 2**31 + 7, 10**15):
        for _ in range(40):
            if a.randrange(n) != below(n) or a.randint(5, 5 + n) != 5 + below(n + 1):
                return False
            if a.randrange(30_000, 30_000 + n) != 30_000 + below(n) or a.choice(population) != population[
                    below(len(population))]:
                return False
    for n in (1, 5, 20, 21, 22, 36, 40, 85, 86, 90):
        for k in range(0, min(n, 8) + 1):
            if a.sample(population[:n], k) != _sample(below, population[:n], k):
                return False
    return True


EXACT = _agrees()


def below(rng: random.Random):
    """`f(n)` -> a draw in range(n), the same as `rng.randrange(n)` (see the module doc)."""
    return rng._randbelow if EXACT else rng.randrange


def sample(below_fn, population, k: int) -> list:
    """`rng.sample(population, k)` for the rng behind `below_fn`."""
    if EXACT:
        return _sample(below_fn, population, k)
    return below_fn.__self__.sample(population, k)
