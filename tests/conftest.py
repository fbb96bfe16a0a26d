"""Shared fixtures: fakes for pure-logic tests, and ``runtime``: one embedded runtime for a module's tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpcore  # noqa: F401 - see below
import pytest

# pytester (tests/test_pytest_plugin.py) removes the modules a test imported when it ends. httpx imports
# httpcore on its first client and keeps a map of httpcore's exception classes: were httpcore first imported
# inside such a test, later clients would raise a second copy's ConnectError, which httpx no longer maps to
# its own (health polls then fail at once). Importing it here, before any test, keeps one copy.
from atproto_bdd.world.records import RecordRef


@dataclass
class FakeAccount:
    """Just enough of an Account for placeholder resolution."""

    handle: str
    did: str
    records: list[RecordRef] = field(default_factory=list)
    password: str = "pw-of-the-account"

    def app_password(self) -> str:
        return "app-pw-of-the-account"

    def latest(self, collection: str | None = None) -> RecordRef:
        from atproto_bdd.errors import UsageError

        if not self.records:
            raise UsageError(f"{self.handle}'s repository holds no record (it holds no records at all)")
        return self.records[-1]


@dataclass
class FakeScope:
    """A placeholder scope: accounts and PDSes by name."""

    accounts: dict[str, Any] = field(default_factory=dict)
    pdses: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def scope() -> FakeScope:
    alice = FakeAccount("alice.test", "did:plc:alice")
    alice.records.append(RecordRef("at://did:plc:alice/app.bsky.feed.post/3kabc", "bafyreiabc"))
    return FakeScope(
        accounts={"alice.test": alice, "bob.test": FakeAccount("bob.test", "did:plc:bob")},
        pdses={"A": SimpleNamespace(url="http://localhost:1234", did="did:web:localhost%3A1234")},
    )


@pytest.fixture(scope="session")
def interop_testdata():
    """The AT Protocol interop test vectors, as the pinned indigo module carries them.

    indigo keeps copies of bluesky-social/atproto-interop-tests under
    ``atproto/*/testdata``; the module comes from the Go module proxy at the
    version the relay is built from, checksum-verified by Go.
    """
    from atproto_bdd.services.go_install import download_module
    from atproto_bdd.settings import Settings

    root = download_module(Settings.load().cache_dir) / "atproto"
    return {
        "syntax": root / "syntax" / "testdata",
        "crypto": root / "atcrypto" / "testdata",
        "data": root / "atdata" / "testdata",
    }


@pytest.fixture(scope="module")
def runtime() -> Iterator[Any]:
    """The embedded runtime (real services), shared by the tests of one module; everything gone after it."""
    from atproto_bdd.services import LocalRuntime
    from atproto_bdd.settings import Settings

    with LocalRuntime(Settings.load()) as runtime:
        yield runtime
