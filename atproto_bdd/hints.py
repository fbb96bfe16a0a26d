"""What a service's or an app's words mean for the person reading a failure: one hint per known cause.

A failure quotes what it saw (a log's last lines, an XRPC error); when that
text shows a cause people meet often, the message adds what to do about it.
"""

from __future__ import annotations

import re

#: (what the text shows, what to do): the first line of each hint names the cause.
KNOWN: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"No service configured for app\.bsky\.", re.IGNORECASE),
        "the PDS has no AppView to send app.bsky.* requests to (an SDK's login() asks for the profile): add "
        "`Given an AppView` to the scenario (or its Background), which points every PDS at one",
    ),
)


def hints_for(text: str) -> list[str]:
    """The hints that apply to ``text`` (a log, an error message), in a stable order, each once."""
    return [hint for pattern, hint in KNOWN if pattern.search(text)]


def with_hints(message: str, seen: str | None = None) -> str:
    """``message`` followed by a ``hint:`` line for each cause ``seen`` (default: the message itself) shows."""
    found = hints_for(message if seen is None else seen)
    return message + "".join(f"\nhint: {hint}" for hint in found)
