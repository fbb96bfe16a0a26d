"""The one-time costs of a run's first requests, paid ahead of them.

A run's first HTTP request builds the shared TLS context (the CA bundle) and imports httpx's transport,
and its first firehose subscription imports the websocket client: about 90 ms in all on the development
machine, which the first scenario would pay. The local runtime calls :func:`warm_up` while its Node host
loads the services' modules, which takes longer, so they cost nothing there.
"""

from __future__ import annotations

from .http import new_client


def warm_up() -> None:
    """Build the shared TLS context, import httpx's transport and the websocket client."""
    new_client().close()  # the first client builds the context and imports httpcore, h11, anyio, certifi
    import websockets.sync.client  # noqa: F401 - imported lazily where used (protocol/firehose.py)
