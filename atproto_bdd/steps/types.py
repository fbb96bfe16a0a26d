"""Typed step parameters: ``{handle:Handle}``, ``{nsid:NSID}``, ``{name:PdsName}``...

Each type matches only its own syntax, so "an account alice.test on PDS A"
can never be swallowed by a looser pattern, and a step with a malformed
value does not match at all (behave then reports it as undefined).
"""

from __future__ import annotations

import re
from typing import Any

import parse
from behave import register_type

from ..protocol.syntax import DID_PATTERN, HANDLE_PATTERN, NSID_PATTERN, normalize_nsid

PDS_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}"
COUNT_WORDS = {"no": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
COUNT_PATTERN = r"\d+|" + "|".join(COUNT_WORDS)
ERROR_NAME_PATTERN = r"[A-Za-z][A-Za-z0-9_]*"
WORD_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.:-]*"
MIME_TYPE_PATTERN = r"[a-z]+/[a-z0-9][a-z0-9.+-]*"
ACTION_PATTERN = r"creating|updating|deleting"
PDS_LIST_PATTERN = rf"PDS {PDS_NAME_PATTERN}(?:(?:, | and )PDS {PDS_NAME_PATTERN})*"
LABEL_VALUE_PATTERN = r"!?[a-z0-9][a-z0-9-]*"
SECONDS_PATTERN = r"\d+(?:\.\d+)?"
HANDLE_LIST_PATTERN = rf"{HANDLE_PATTERN}(?:(?:, | and ){HANDLE_PATTERN})*"
NSID_LIST_PATTERN = rf"{NSID_PATTERN}(?:(?:, | and ){NSID_PATTERN})*"
OPERATION_PATTERN = r"create|update|delete"
PRONOUN_PATTERN = r"her|his|their"
#: A service an app talks to, as fault steps name it (world/faults.py).
UPSTREAM_PATTERN = rf"PDS {PDS_NAME_PATTERN}|the relay|the PLC directory|Jetstream|Tap|the AppView"


@parse.with_pattern(HANDLE_PATTERN)
def parse_handle(text: str) -> str:
    """a handle such as alice.test (passed on lower-cased)"""
    return text.lower()


@parse.with_pattern(NSID_PATTERN)
def parse_nsid(text: str) -> str:
    """an NSID such as app.bsky.feed.post"""
    return normalize_nsid(text)  # its authority is case-insensitive: App.Bsky.Feed.post names the same collection


@parse.with_pattern(DID_PATTERN)
def parse_did(text: str) -> str:
    """a DID such as did:plc:abc123"""
    return text


@parse.with_pattern(PDS_NAME_PATTERN)
def parse_pds_name(text: str) -> str:
    """a PDS name: one word such as A or eu-west"""
    return text


@parse.with_pattern(COUNT_PATTERN)
def parse_count(text: str) -> int:
    """a count: digits, or no, one, two, three, four, five"""
    return COUNT_WORDS[text] if text in COUNT_WORDS else int(text)


@parse.with_pattern(ERROR_NAME_PATTERN)
def parse_error_name(text: str) -> str:
    """an error name such as InvalidHandle (XRPC) or invalid_grant (OAuth)"""
    return text


@parse.with_pattern(WORD_PATTERN)
def parse_word(text: str) -> str:
    """one word without spaces, checked by the step (e.g. an event type or a cursor)"""
    return text


@parse.with_pattern(MIME_TYPE_PATTERN)
def parse_mime_type(text: str) -> str:
    """a MIME type such as image/png"""
    return text


@parse.with_pattern(ACTION_PATTERN)
def parse_action(text: str) -> str:
    """creating, updating or deleting (a commit's operation on a record)"""
    return text


@parse.with_pattern(PDS_LIST_PATTERN)
def parse_pds_list(text: str) -> list[str]:
    """one or more PDSes: PDS A, or PDS A and PDS B, or PDS A, PDS B and PDS C"""
    return re.findall(rf"PDS ({PDS_NAME_PATTERN})", text)


@parse.with_pattern(HANDLE_LIST_PATTERN)
def parse_handle_list(text: str) -> list[str]:
    """one or more handles: alice.test, or alice.test and bob.test, or a.test, b.test and c.test"""
    return [handle.lower() for handle in re.split(r", | and ", text)]


@parse.with_pattern(NSID_LIST_PATTERN)
def parse_nsid_list(text: str) -> list[str]:
    """one or more NSIDs: app.bsky.feed.post, or app.bsky.feed.post and app.bsky.feed.like"""
    return [normalize_nsid(nsid) for nsid in re.split(r", | and ", text)]


@parse.with_pattern(OPERATION_PATTERN)
def parse_operation(text: str) -> str:
    """create, update or delete (a record operation as Jetstream and Tap name it)"""
    return text


@parse.with_pattern(LABEL_VALUE_PATTERN)
def parse_label_value(text: str) -> str:
    """a label value such as spam or !hide (lower-case letters, digits and -)"""
    return text


@parse.with_pattern(SECONDS_PATTERN)
def parse_seconds(text: str) -> float:
    """a number of seconds such as 5 or 0.5"""
    return float(text)


@parse.with_pattern(PRONOUN_PATTERN)
def parse_pronoun(text: str) -> str:
    """her, his or their (a person's own things: "her PDS's authorization page"); all mean the same"""
    return text


@parse.with_pattern(UPSTREAM_PATTERN)
def parse_upstream(text: str) -> str:
    """a service an app talks to: PDS A, the relay, the PLC directory, Jetstream, Tap or the AppView"""
    return text


PARAMETER_TYPES: dict[str, Any] = {
    "Handle": parse_handle,
    "NSID": parse_nsid,
    "Did": parse_did,
    "PdsName": parse_pds_name,
    "Count": parse_count,
    "ErrorName": parse_error_name,
    "Word": parse_word,
    "MimeType": parse_mime_type,
    "Action": parse_action,
    "PdsList": parse_pds_list,
    "HandleList": parse_handle_list,
    "NSIDList": parse_nsid_list,
    "Operation": parse_operation,
    "LabelValue": parse_label_value,
    "Seconds": parse_seconds,
    "Pronoun": parse_pronoun,
    "Upstream": parse_upstream,
}

register_type(**PARAMETER_TYPES)
