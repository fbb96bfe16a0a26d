"""Accounts created at the same time (consecutive account steps, ``atproto_accounts``) against a real PDS."""

from __future__ import annotations

import pytest

from atproto_bdd.errors import XrpcError
from atproto_bdd.services import LocalRuntime
from atproto_bdd.world import World


def test_accounts_are_made_together_and_a_refused_one_fails_when_asked_for() -> None:
    with LocalRuntime() as runtime:
        world = World(runtime)
        try:
            world.add_pds("A")
            wanted = [("alice.test", "A"), ("bob.example", "A"), ("carol.test", None), ("nope.test", "Z")]
            world.prefetch_accounts(wanted)
            assert sorted(world.accounts) == ["alice.test", "carol.test"]  # PDS Z does not run: left to its step
            assert world.ensure_account("alice.test", "A") is world.account("alice.test")
            with pytest.raises(XrpcError, match="InvalidHandle"):
                world.ensure_account("bob.example", "A")  # the kept error, raised by the step that asks
            assert "bob.example" not in world.accounts
        finally:
            world.close(wait=True)


def test_an_accounts_made_up_address_fits_the_64_characters_of_its_local_part() -> None:
    from atproto_bdd.world.accounts import default_email

    assert default_email("alice.test") == "alice.test@example.com"
    long = default_email("a" * 240 + ".test")
    assert len(long.split("@")[0]) <= 64 and long != default_email("a" * 239 + "b.test")
