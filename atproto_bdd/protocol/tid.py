"""Timestamp identifiers (TIDs): the record keys most records get, which sort by the time they were made.

A TID is 13 characters of base32-sortable (``234567abcdefghijklmnopqrstuvwxyz``):
64 bits, the top one zero, then 53 bits of microseconds since the Unix epoch
and 10 bits of clock identifier.
"""

from __future__ import annotations

import re

ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
#: The syntax the spec gives: the first character keeps the top bit zero.
TID_PATTERN = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


def is_tid(text: str) -> bool:
    """Whether ``text`` is a TID."""
    return bool(TID_PATTERN.match(text))


def tid_microseconds(tid: str) -> int:
    """When the TID ``tid`` was made: microseconds since the Unix epoch (ValueError if it is not a TID)."""
    if not is_tid(tid):
        raise ValueError(f"not a TID: {tid!r}")
    value = 0
    for char in tid:
        value = value * 32 + ALPHABET.index(char)
    return value >> 10
