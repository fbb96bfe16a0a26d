"""Layer 5: SIGTERM turned into Ctrl-C, so that both front ends run their clean-up on either."""

from __future__ import annotations

import signal
from typing import Any


def sigterm_as_keyboard_interrupt() -> None:
    """Make SIGTERM raise ``KeyboardInterrupt`` (unless the program handles SIGTERM itself).

    behave then runs its after-hooks and pytest its fixtures' finalizers, which
    stop every service; SIGKILL is covered by the services dying with their parent.
    """

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _terminate)
