"""Labels with fields the lexicon does not define, from a labeler in a real network.

A labeler app (tests/data/apps/label_app.py, written without atproto-bdd's
code) serves a label with an extra ``id`` field, as @skyware/labeler 0.2.0
does. Signed over the lexicon's fields it passes the label checks; signed
over what it serves (``id`` too) it fails the signature check, saying so:
verifiers (indigo atproto/labeling) check the lexicon's fields only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from atproto_bdd.services import LocalRuntime
from atproto_bdd.services.app_config import AppConfig, AppSpec
from atproto_bdd.world import World

APP = Path(__file__).parent / "data" / "apps" / "label_app.py"


def labeler(signed_over: str) -> AppSpec:
    return AppSpec(
        name=f"labels-{signed_over}",
        command=(sys.executable, str(APP)),
        cwd=APP.parent,
        env={
            "PORT": f"${{app.labels-{signed_over}.port}}",
            "LABELER_DID": f"${{app.labels-{signed_over}.did}}",
            "SIGNING_KEY": f"${{app.labels-{signed_over}.signing_key}}",
            "SUBJECT": "${bob.test.latest.uri}",
            "SIGNED_OVER": signed_over,
        },
        ready_tcp=True,
    )


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with LocalRuntime() as runtime:
        world = World(runtime)
        world.app_config = AppConfig({spec.name: spec for spec in (labeler("lexicon"), labeler("served"))})
        world.add_pds("A")
        world.create_account("bob.test").post("cheap spam")
        try:
            yield world
        finally:
            world.close()


def test_a_label_with_an_extra_field_signed_over_the_lexicons_fields_passes(
    world: World, capfd: pytest.CaptureFixture[str]
) -> None:
    world.app("labels-lexicon").start()
    labeler = world.labeler("labels-lexicon")
    subject = world.account("bob.test").latest().uri
    label = labeler.expect_label(subject, "spam", "bob.test's latest post")
    assert dict(label.extra) == {"id": 1}
    assert [found.val for found in labeler.verify_signatures()] == ["spam"]
    assert "define: id; ignored, and outside the signature" in capfd.readouterr().err  # said once, not a failure


def test_a_label_signed_over_its_extra_field_too_fails_saying_which_bytes(world: World) -> None:
    world.app("labels-served").start()
    labeler = world.labeler("labels-served")
    labeler.expect_label(world.account("bob.test").latest().uri, "spam", "bob.test's latest post")  # well-formed
    with pytest.raises(AssertionError) as failed:
        labeler.verify_signatures()
    message = str(failed.value)
    assert message.startswith("1 of 1 label(s) from the app labels-served fail:")
    assert "its sig was made over the label with its extra field(s) id too" in message
    assert "so they reject it (key did:plc:" in message
