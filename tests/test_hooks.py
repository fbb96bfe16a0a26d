from __future__ import annotations

import pytest

from atproto_bdd.errors import UsageError
from atproto_bdd.hooks import network_scope


def test_network_scope_from_tags() -> None:
    assert network_scope(["wip", "network:feature"], "scenario") == "feature"
    assert network_scope(["network:scenario"], "feature") == "scenario"
    assert network_scope([], "feature") == "feature"


def test_unknown_network_scope_lists_valid_tags() -> None:
    with pytest.raises(UsageError, match="unknown tag @network:run; valid: @network:scenario, @network:feature"):
        network_scope(["network:run"], "scenario")
