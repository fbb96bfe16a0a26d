"""Waiting, with a deadline, for a service to answer its health check."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from ..errors import ServiceError
from ..protocol.http import new_client
from ..waiting import poll


def wait_until_healthy(
    what: str,
    url: str,
    *,
    timeout: float,
    log_tail: Callable[[], str] = lambda: "",
    alive: Callable[[], bool] = lambda: True,
    interval: float = 0.02,
    headers: dict[str, str] | None = None,
) -> None:
    """Poll ``url`` until it answers 200, or raise ServiceError with the service's log tail.

    ``alive`` tells whether the service's process still runs: one that exited
    fails at once instead of at the deadline. ``headers`` go with every request
    (Tap wants basic auth even on its health check).
    """
    last = "no answer yet"
    with new_client(timeout=min(5.0, timeout)) as client:

        def healthy() -> bool:
            nonlocal last
            try:
                response = client.get(url, headers=headers)
                if response.status_code == 200:
                    return True
                last = f"HTTP {response.status_code}: {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if not alive():
                raise ServiceError(f"{what} exited while starting; its log ends with:\n{log_tail() or '(empty)'}")
            return False

        def unhealthy() -> ServiceError:
            return ServiceError(
                f"{what} did not become healthy within {timeout:g}s (GET {url}: {last}); "
                f"its log ends with:\n{log_tail() or '(empty)'}"
            )

        poll(healthy, timeout=timeout, on_timeout=unhealthy, interval=interval, max_interval=max(interval, 0.1))
