"""The keys a sync has met in this run, in about ten bytes each however many there are.

A cursor walking records by modified time (or version) must know whether a record it meets was
already yielded this run: if so, it changed while the walk was under way and waits for the next
run. A million-record walk would hold a million Python strings (some 160 bytes each with their
times); this keeps 64-bit hashes instead: the newest in a small set, the rest in sorted numpy
arrays (8 bytes each), and a Bloom filter in front so that a key never met, nearly every key of a
walk, is answered without searching them. A hash collision (about 1 in 10^7 for a million keys)
only reads as "met": the record waits one run, nothing is lost.
"""

from __future__ import annotations

import numpy as np

_FLUSH = 16_384  # hashes kept in the set before they are sorted into an array
_START_BITS = 1 << 20  # the filter's size before it grows: 128 KiB
_BITS_PER_KEY = 16  # with three probes: about 1 key in 700 not met takes the exact search
_MASK64 = (1 << 64) - 1


class SeenKeys:
    def __init__(self) -> None:
        self._recent: set[int] = set()
        self._sorted: list[np.ndarray] = []  # sizes shrink down the list (merged like a binary counter)
        self._count = 0
        self._size_filter(_START_BITS)

    def __len__(self) -> int:
        return self._count

    def __contains__(self, key: object) -> bool:
        h = hash(key) & _MASK64
        return all(self._bits[i] & bit for i, bit in self._spots(h)) and self._holds(h)

    def meet(self, key: object) -> bool:
        """True if the key was met before; otherwise remember it and say False."""
        h = hash(key) & _MASK64
        spots, bits = self._spots(h), self._bits
        if all(bits[i] & bit for i, bit in spots) and self._holds(h):
            return True
        for i, bit in spots:
            bits[i] |= bit
        self._recent.add(h)
        self._count += 1
        if len(self._recent) >= _FLUSH:
            self._flush()
        if self._count * _BITS_PER_KEY > self._nbits:
            self._size_filter(self._nbits * 4)
        return False

    def _spots(self, h: int) -> tuple[tuple[int, int], ...]:
        """The filter's three (byte, bit) places for a hash; _size_filter computes the same."""
        mask = self._nbits - 1
        return tuple((p >> 3, 1 << (p & 7)) for p in (h & mask, (h >> 21) & mask, (h >> 42 | h << 22) & mask))

    def _holds(self, h: int) -> bool:
        return h in self._recent or self._in_sorted(h)

    def _in_sorted(self, h: int) -> bool:
        value = np.uint64(h)
        for chunk in self._sorted:
            i = int(np.searchsorted(chunk, value))
            if i < len(chunk) and chunk[i] == value:
                return True
        return False

    def _flush(self) -> None:
        merged = np.sort(np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent)))
        self._recent = set()
        while self._sorted and len(self._sorted[-1]) <= len(merged):
            merged = np.concatenate((self._sorted.pop(), merged))
            merged.sort(kind="stable")
        self._sorted.append(merged)

    def _size_filter(self, nbits: int) -> None:
        """(Re)build the filter with nbits bits from every hash held."""
        self._nbits = nbits
        bits = np.zeros(nbits >> 3, dtype=np.uint8)
        held = [np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent)), *self._sorted]
        mask = np.uint64(nbits - 1)
        for hashes in held:
            for probe in (hashes & mask, (hashes >> np.uint64(21)) & mask,
                          ((hashes >> np.uint64(42)) | (hashes << np.uint64(22))) & mask):
                np.bitwise_or.at(bits, (probe >> np.uint64(3)).astype(np.intp),
                                 (np.uint8(1) << (probe & np.uint64(7)).astype(np.uint8)))
        self._bits = bytearray(bits.tobytes())
