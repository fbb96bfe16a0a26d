from __future__ import annotations

from behave.step_registry import registry

import atproto_bdd.steps  # noqa: F401
from atproto_bdd.steps.diagnose import explain_undefined


def test_invalid_handle_is_explained() -> None:
    reasons = explain_undefined(registry, "given", "an account alice")
    assert reasons == [
        "'alice' is not a valid Handle (expected a handle such as alice.test (passed on lower-cased)) "
        "for step 'an account {handle:Handle}'"
    ]


def test_invalid_pds_name_is_explained() -> None:
    (reason,) = explain_undefined(registry, "given", "an account alice.test on PDS the big one")
    assert reason.startswith("'the big one' is not a valid PdsName")


def test_unrelated_text_gets_no_explanation() -> None:
    assert explain_undefined(registry, "given", "the moon is made of cheese") == []
