"""A small backend on the AT Protocol: it signs users in to their PDS and keeps bookmarks in their repositories.

Routes:

* ``POST /bookmarks`` with ``{"handle", "password", "url"}``: signs in to the
  PDS (``createSession``) and writes a ``com.example.bookmark`` record in the
  user's repository; answers 201 with the record's ``uri``, 401 on bad
  credentials, 422 on a missing field;
* ``GET /bookmarks/{handle}``: the user's bookmarks, read back from the PDS
  (``resolveHandle`` + ``listRecords``); 404 for an unknown handle.

The PDS's URL is the app's only setting (``create_app(pds_url)``, or
``BOOKMARKS_PDS_URL`` when served with ``uvicorn app:app``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

COLLECTION = "com.example.bookmark"


def create_app(pds_url: str) -> Starlette:
    """The backend, talking to the PDS at ``pds_url``."""
    pds = httpx.AsyncClient(base_url=pds_url, timeout=10)

    async def add(request: Request) -> JSONResponse:
        body = await request.json()
        missing = [key for key in ("handle", "password", "url") if not body.get(key)]
        if missing:
            return JSONResponse({"error": f"missing: {', '.join(missing)}"}, status_code=422)
        login = await pds.post(
            "/xrpc/com.atproto.server.createSession",
            json={"identifier": body["handle"], "password": body["password"]},
        )
        if login.status_code != 200:
            return JSONResponse({"error": "the PDS refused the sign-in"}, status_code=401)
        session = login.json()
        record = {"$type": COLLECTION, "subject": body["url"], "createdAt": _now()}
        created = await pds.post(
            "/xrpc/com.atproto.repo.createRecord",
            json={"repo": session["did"], "collection": COLLECTION, "record": record},
            headers={"Authorization": f"Bearer {session['accessJwt']}"},
        )
        created.raise_for_status()
        return JSONResponse({"uri": created.json()["uri"]}, status_code=201)

    async def list_for(request: Request) -> JSONResponse:
        handle = request.path_params["handle"]
        resolved = await pds.get("/xrpc/com.atproto.identity.resolveHandle", params={"handle": handle})
        if resolved.status_code != 200:
            return JSONResponse({"error": f"unknown handle {handle}"}, status_code=404)
        listed = await pds.get(
            "/xrpc/com.atproto.repo.listRecords",
            params={"repo": resolved.json()["did"], "collection": COLLECTION},
        )
        listed.raise_for_status()
        return JSONResponse({"bookmarks": [r["value"]["subject"] for r in listed.json()["records"]]})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with pds:
            yield

    routes = [Route("/bookmarks", add, methods=["POST"]), Route("/bookmarks/{handle}", list_for)]
    return Starlette(routes=routes, lifespan=lifespan)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


if "BOOKMARKS_PDS_URL" in os.environ:
    app = create_app(os.environ["BOOKMARKS_PDS_URL"])
