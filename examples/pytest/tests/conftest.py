"""The app's fixtures: the network comes from atproto-bdd's plugin (installed with the package, no set-up here).

As in the seed's FastAPI + testcontainers example, the app runs in the test
process and is called through httpx's ASGI transport; only its backing service
differs: a real PDS of the test's own network instead of a database container.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from app import create_app


@pytest.fixture
def anyio_backend() -> str:
    """The async tests run on asyncio (anyio's pytest plugin, installed with httpx)."""
    return "asyncio"


@pytest.fixture
async def client(atproto_world) -> AsyncIterator[httpx.AsyncClient]:
    """The backend pointed at the test's own PDS A, and an HTTP client calling it in-process."""
    app = create_app(atproto_world.ensure_pds("A").url)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
            yield client
