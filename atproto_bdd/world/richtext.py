"""Rich text as the official clients make it: mention and link facets found in a post's text.

``detect_facets`` follows ``RichText.detectFacets`` of @atproto/api: a
mention is ``@handle`` at the start of the text or after a space or ``(``,
and becomes a ``#mention`` facet if the handle resolves to a DID (one that
does not is plain text, as in the clients); a link is an ``http://`` or
``https://`` URL, without the punctuation that ends a sentence. Offsets
count UTF-8 bytes, as the lexicon says. Bare domains (``example.com``) and
hashtags are left as text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..protocol.syntax import HANDLE_PATTERN

MENTION = re.compile(rf"(?:^|(?<=[\s(]))@({HANDLE_PATTERN})\b")
LINK = re.compile(r"(?:^|(?<=[\s(]))(https?://\S+)", re.IGNORECASE)
#: What ends a sentence rather than a URL.
TRAILING = re.compile(r"[.,;:!?]+$")


def detect_facets(text: str, resolve_handle: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """The ``app.bsky.richtext.facet`` list for ``text``: its mentions (resolved) and links, in text order."""
    facets: list[tuple[int, dict[str, Any]]] = []
    for match in MENTION.finditer(text):
        handle = match.group(1).rstrip(".")
        did = resolve_handle(handle.lower())
        if did:
            start = match.start()
            facets.append((start, _facet(text, start, start + 1 + len(handle), "mention", did=did)))
    for match in LINK.finditer(text):
        uri = TRAILING.sub("", match.group(1))
        if uri.endswith(")") and "(" not in uri:
            uri = uri[:-1]
        start = match.start(1)
        facets.append((start, _facet(text, start, start + len(uri), "link", uri=uri)))
    return [facet for _, facet in sorted(facets, key=lambda item: item[0])]


def _facet(text: str, start: int, end: int, kind: str, **fields: str) -> dict[str, Any]:
    """A facet over characters ``start:end`` of ``text``, its index in UTF-8 bytes."""
    byte_start = len(text[:start].encode())
    return {
        "index": {"byteStart": byte_start, "byteEnd": byte_start + len(text[start:end].encode())},
        "features": [{"$type": f"app.bsky.richtext.facet#{kind}", **fields}],
    }
