"""Ozone in real networks: its place before the PDSes, takedowns the PDS and AppView apply, labels bridged, roles."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from atproto_bdd.errors import UsageError, XrpcError
from atproto_bdd.services import LocalRuntime
from atproto_bdd.settings import Settings
from atproto_bdd.world import World
from atproto_bdd.world.bsky import POST

PDS_LINES = ("0.4", "0.5")


@pytest.fixture(scope="module", params=PDS_LINES)
def runtime(request: pytest.FixtureRequest) -> Iterator[LocalRuntime]:
    with LocalRuntime(Settings.load({"pds_version": request.param})) as runtime:
        yield runtime


@pytest.fixture
def world(runtime: LocalRuntime) -> Iterator[World]:
    world = World(runtime)
    world.begin_scenario("ozone")
    try:
        yield world
    finally:
        world.close()


def test_ozone_must_be_planned_before_the_pdses(world: World) -> None:
    world.add_pds("A")
    with pytest.raises(UsageError, match=r"Ozone must be planned before the network's PDSes .* already has PDS A"):
        world.plan_ozone()


def test_an_account_takedown_reaches_the_pds_and_the_appview_and_is_reversed(world: World) -> None:
    world.plan_ozone()
    alice, bob, carol = (world.create_account(handle) for handle in ("alice.test", "bob.test", "carol.test"))
    ozone = world.add_ozone()
    ozone.add_member(carol, "moderator")
    # Ozone's DID is its service account's on PDS A, with its label key and labeler endpoint (as dev-env has it).
    document = world.resolve_did(ozone.did)
    assert document.handles == ["mod-authority.test"]
    assert document.pds_endpoint == world.pds("A").url
    assert document.service_endpoint("atproto_labeler") == ozone.url
    assert document.verification_key("atproto_label") is not None
    world.appview.wait_indexed()
    services = bob.xrpc_get("app.bsky.labeler.getServices", {"dids": [ozone.did], "detailed": True})["views"]
    assert [view["creator"]["handle"] for view in services] == ["mod-authority.test"], services
    assert "porn" in services[0]["policies"]["labelValues"]
    ozone.takedown(carol, alice.did)
    assert alice.status().get("status") == "takendown"
    with pytest.raises(XrpcError) as refused:
        alice.sign_in()
    assert refused.value.error == "AccountTakedown", refused.value
    with pytest.raises(XrpcError) as hidden:
        world.appview.profile(alice, viewer=bob)
    assert hidden.value.error == "AccountTakedown", hidden.value
    ozone.reverse_takedown(carol, alice.did)
    assert alice.status().get("active") is True
    alice.sign_in()
    assert world.appview.profile(alice, viewer=bob)["did"] == alice.did


def test_labels_reach_the_appview_through_the_bridge_and_negations_remove_them(world: World) -> None:
    world.plan_ozone()
    alice, bob, carol = (world.create_account(handle) for handle in ("alice.test", "bob.test", "carol.test"))
    ozone = world.add_ozone()
    ozone.add_member(carol, "admin")
    post = alice.post("a picture")
    world.appview.wait_indexed()
    ozone.label(carol, post, add=("porn",))
    # No wait here: an action returns once its labels are in the AppView.
    view = world.appview.post(post.uri, bob)
    assert view is not None
    assert [(label["val"], label["src"]) for label in view.get("labels", [])] == [("porn", ozone.did)]
    ozone.label(carol, post, remove=("porn",))
    view = world.appview.post(post.uri, bob)
    assert view is not None and not view.get("labels"), view
    # A takedown of a post is Ozone's !takedown label, which the AppView applies for every viewer.
    ozone.takedown(carol, post)
    assert world.appview.post(post.uri, bob) is None
    assert alice.latest(POST).uri == post.uri  # the PDS still serves it, as with real Ozone


def test_a_triage_member_may_not_take_down_and_an_outsider_may_not_act(world: World) -> None:
    world.plan_ozone()
    alice, dave, erin = (world.create_account(handle) for handle in ("alice.test", "dave.test", "erin.test"))
    ozone = world.add_ozone()
    ozone.add_member(dave, "triage")
    with pytest.raises(XrpcError, match="Must be a full moderator"):
        ozone.takedown(dave, alice.did)
    with pytest.raises(XrpcError) as outsider:
        ozone.takedown(erin, alice.did)
    assert outsider.value.status_code == 401, outsider.value
    assert alice.status().get("active") is True


def test_reports_open_a_review_that_an_acknowledgement_closes(world: World) -> None:
    world.plan_ozone()
    alice, bob, carol = (world.create_account(handle) for handle in ("alice.test", "bob.test", "carol.test"))
    ozone = world.add_ozone()
    ozone.add_member(carol, "admin")
    post = alice.post("spam spam spam")
    assert ozone.status(post) is None
    ozone.report(bob, post, "spam", "an ad")
    ozone.expect_review_state(post, "open", "alice's post")
    with pytest.raises(AssertionError, match=r"Ozone did not have alice's post resolved .* its review is reviewOpen"):
        ozone.expect_review_state(post, "resolved", "alice's post")
    ozone.acknowledge(carol, post)
    ozone.expect_review_state(post, "resolved", "alice's post")
    with pytest.raises(UsageError, match="unknown report reason 'spamm'; valid: spam, "):
        ozone.report(bob, post, "spamm")


def test_labels_still_reach_an_appview_that_restarted(world: World) -> None:
    world.plan_ozone()
    alice, bob, carol = (world.create_account(handle) for handle in ("alice.test", "bob.test", "carol.test"))
    ozone = world.add_ozone()
    ozone.add_member(carol, "admin")
    post = alice.post("after a restart")
    world.appview.restart()
    world.appview.wait_indexed()
    ozone.label(carol, post, add=("spam",))
    view = world.appview.post(post.uri, bob)
    assert view is not None and [label["val"] for label in view.get("labels", [])] == ["spam"], view
