"""AT Protocol identifier syntax: handles, NSIDs, DIDs, record keys, AT-URIs, datetimes.

The regular expressions follow https://atproto.com/specs; the ``*_PATTERN``
strings (without anchors) are also what the step parameter types match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..errors import UsageError

_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
#: A handle: DNS-name syntax with at least two labels, the last not starting with a digit.
HANDLE_PATTERN = rf"(?:{_LABEL}\.)+[a-zA-Z](?:[a-zA-Z0-9-]{{0,61}}[a-zA-Z0-9])?"
#: An NSID: a reversed domain authority plus a name, at least three segments.
NSID_PATTERN = (
    r"[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"  # first authority segment
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+"  # more authority segments
    r"\.[a-zA-Z][a-zA-Z0-9]{0,62}"  # the name
)
#: A DID: ``did:<method>:<method-specific id>``.
DID_PATTERN = r"did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]"
#: A record key.
RKEY_PATTERN = r"[a-zA-Z0-9._:~-]{1,512}"

#: A datetime as the lexicon's ``datetime`` format wants it: RFC 3339, upper-case T, a timezone (no -00:00).
_DATETIME = re.compile(
    r"^([0-9]{4})-([01][0-9])-([0-3][0-9])T([0-2][0-9]):([0-6][0-9]):([0-6][0-9])(\.[0-9]{1,20})?"
    r"(Z|[+-][0-2][0-9]:[0-5][0-9])$"
)
_HANDLE = re.compile(rf"^{HANDLE_PATTERN}$")
_NSID = re.compile(rf"^{NSID_PATTERN}$")
_DID = re.compile(rf"^{DID_PATTERN}$")
_RKEY = re.compile(rf"^{RKEY_PATTERN}$")


def is_handle(value: str) -> bool:
    """True if ``value`` has handle syntax (the TLD may still be refused by a PDS)."""
    return len(value) <= 253 and bool(_HANDLE.match(value))


def is_nsid(value: str) -> bool:
    """True if ``value`` has NSID syntax."""
    return len(value) <= 317 and bool(_NSID.match(value))


def normalize_nsid(value: str) -> str:
    """``value`` with its authority (every segment but the name) in lower case: NSIDs that name the same thing.

    The NSID specification makes the domain authority case-insensitive and
    the name case-sensitive: ``App.Bsky.Feed.post`` is ``app.bsky.feed.post``,
    ``app.bsky.feed.Post`` is another NSID.
    """
    authority, dot, name = value.rpartition(".")
    return f"{authority.lower()}{dot}{name}" if dot else value


def is_did(value: str) -> bool:
    """True if ``value`` has DID syntax."""
    return len(value) <= 2048 and bool(_DID.match(value))


def is_rkey(value: str) -> bool:
    """True if ``value`` is a valid record key."""
    return value not in (".", "..") and bool(_RKEY.match(value))


def is_datetime(value: str) -> bool:
    """True if ``value`` has the lexicon's ``datetime`` format (``2026-12-07T10:00:00.000Z``)."""
    match = _DATETIME.match(value) if len(value) <= 64 else None
    if match is None or value.endswith("-00:00"):
        return False
    try:  # a month 19, a day 39, an hour 29... (seconds up to 59: Python has no leap second)
        datetime(*(int(part) for part in match.groups()[:5]), min(int(match.group(6)), 59))
    except ValueError:
        return False
    return True


#: The longest handle the specification allows, and the longest label (the part between dots).
HANDLE_MAX_LENGTH = 253
HANDLE_LABEL_MAX_LENGTH = 63
_LABEL_CHARACTERS = re.compile(r"[a-zA-Z0-9-]*")


def handle_problem(value: str) -> str | None:
    """Why ``value`` is no handle by the specification's rules (https://atproto.com/specs/handle), or None.

    The rules: at most 253 characters; at least two labels separated by
    dots; each label 1 to 63 ASCII letters, digits and hyphens, not starting
    or ending with a hyphen; the last label (the TLD) not starting with a digit.
    """
    if len(value) > HANDLE_MAX_LENGTH:
        return f"handle too long ({len(value)} > {HANDLE_MAX_LENGTH} characters)"
    labels = value.split(".")
    if len(labels) < 2:
        return "a handle has at least two labels separated by a dot, such as alice.test"
    for label in labels:
        shown = label if len(label) <= 24 else f"{label[:20]}...({len(label)} characters)"
        if not label:
            return "a label is empty (two dots in a row, or a dot at either end)"
        if len(label) > HANDLE_LABEL_MAX_LENGTH:
            return f"label too long: {shown} ({len(label)} > {HANDLE_LABEL_MAX_LENGTH} characters between dots)"
        if not _LABEL_CHARACTERS.fullmatch(label):
            bad = next(char for char in label if not _LABEL_CHARACTERS.fullmatch(char))
            return f"{bad!r} in the label {shown!r}: a handle has only ASCII letters, digits, hyphens and dots"
        if label.startswith("-") or label.endswith("-"):
            return f"the label {shown!r} starts or ends with a hyphen"
    if labels[-1][0].isdigit():
        return f"the last label {labels[-1]!r} starts with a digit"
    return None


def require_handle(value: str) -> str:
    """Return the handle in canonical (lower-case) form or raise :class:`UsageError` saying which rule it breaks."""
    problem = handle_problem(value)
    if problem is not None:
        raise UsageError(f"{value!r} is not a valid handle: {problem} (expected something like alice.test)")
    return value.lower()


@dataclass(frozen=True)
class AtUri:
    """An ``at://<authority>/<collection>/<rkey>`` URI."""

    authority: str
    collection: str = ""
    rkey: str = ""

    @classmethod
    def parse(cls, uri: str) -> AtUri:
        """Split an AT-URI into its parts; raise :class:`UsageError` if it is not one."""
        if not uri.startswith("at://"):
            raise UsageError(f"{uri!r} is not an at:// URI")
        parts = uri[len("at://") :].split("/")
        if not parts[0] or len(parts) > 3:
            raise UsageError(f"{uri!r} is not an at://authority[/collection[/rkey]] URI")
        parts += [""] * (3 - len(parts))
        return cls(parts[0], parts[1], parts[2])

    def __str__(self) -> str:
        return "at://" + "/".join(part for part in (self.authority, self.collection, self.rkey) if part)
