"""Looking ahead at a run's steps: which services they start, from the step definitions' @uses marks."""

from __future__ import annotations

from pathlib import Path

import pytest
from behave.parser import parse_feature

from atproto_bdd.errors import UsageError
from atproto_bdd.lookahead import library_registry, run_services, scenario_services
from atproto_bdd.steps.support import uses

FEATURE = """
Feature: look-ahead
  Background:
    Given a PDS named A
    And an account alice.test on PDS A
    And an AppView

  Scenario: the AppView last in the Background, a relay and Tap in the scenario
    Given a relay crawling PDS A
    And Tap on the relay sending xyz.statusphere.status to the app statusphere at /api/webhook

  Scenario: nothing else
    Given an account bob.test on PDS A
    And a step nobody defined
"""

TAGGED = """
Feature: tagged
  @appview
  Scenario: the tag is enough
    Given a PDS named A

  Scenario: Jetstream means the relay too (it reads it)
    Given Jetstream on the relay
"""


def test_the_services_a_scenario_starts_come_from_its_steps_background_included() -> None:
    feature = parse_feature(FEATURE, filename=str(Path("look.feature")))
    first, second = feature.walk_scenarios()
    registry = library_registry()
    assert scenario_services(first, registry) == {"appview", "relay", "tap"}
    assert scenario_services(second, registry) == {"appview"}  # the Background's AppView; the undefined step: none
    assert run_services([feature], registry, runs=lambda scenario: scenario is second) == {"appview"}


def test_an_appview_tag_counts_and_jetstream_is_marked() -> None:
    feature = parse_feature(TAGGED, filename="tagged.feature")
    tagged, jetstream = feature.walk_scenarios()
    registry = library_registry()
    assert scenario_services(tagged, registry) == {"appview"}
    assert scenario_services(jetstream, registry) == {"jetstream"}  # preparing it builds the relay too


def test_a_step_marked_with_an_unknown_service_is_refused_when_it_is_defined() -> None:
    with pytest.raises(UsageError, match="unknown service 'realy'; valid: relay, appview, ozone, jetstream, tap"):
        uses("realy")
