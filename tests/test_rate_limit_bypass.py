"""Real-service check: the framework's own calls carry the bypass key and spend no budget."""

from __future__ import annotations

from atproto_bdd import LocalRuntime, World


def test_internal_sign_ins_spend_no_create_session_budget() -> None:
    with LocalRuntime() as runtime:
        world = World(runtime)
        try:
            world.add_pds("A", rate_limits=True)
            alice = world.create_account("alice.test")
            for _ in range(35):  # more than the 30 per 5 minutes createSession allows
                alice.sign_in()
            spent = alice.pds.exhaust_rate_limit(lambda: alice.sign_in(bypass_rate_limits=False))
        finally:
            world.close()
    assert spent == 30
