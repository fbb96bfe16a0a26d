"""Notes for the person running the tests: said once per run, on the real stderr, secrets masked.

Some things are worth a line but not a failure: a check that cannot prove
what it judges, an app that needs SIGKILL to stop, a labeler whose labels
carry fields the lexicon does not define. Each is said once per process
(behave run, pytest worker), however many steps meet it, and goes to
``sys.__stderr__``, past behave's output capture.
"""

from __future__ import annotations

import sys
import threading

from .masking import masker

_said: set[str] = set()
_lock = threading.Lock()


def say_once(text: str, *, key: str | None = None) -> bool:
    """Print ``atproto-bdd: <text>`` unless the same ``key`` (default: the text) was said already.

    Returns whether it was printed.
    """
    with _lock:
        if (key or text) in _said:
            return False
        _said.add(key or text)
    stream = sys.__stderr__ or sys.stderr
    stream.write(masker.mask(f"atproto-bdd: {text}") + "\n")
    stream.flush()
    return True
