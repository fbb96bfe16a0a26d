"""Each part of the world uses only the roles it declares (world/needs.py), and World provides them all."""

from __future__ import annotations

import inspect
import re
from typing import Protocol

import pytest

from atproto_bdd.world import app, appview, bots, browser, feeds, jetstream, labels, needs, ozone, tap
from atproto_bdd.world.world import World

#: A member of the world a part reads: ``self._world.x`` or, through a local alias, ``world.x``.
USE = re.compile(r"(?:self\._world|(?<![.\w])world)\.([A-Za-z_]\w*)")

PARTS = [
    (app, app.AppWorld),
    (appview, appview.AppViewWorld),
    (ozone, ozone.OzoneWorld),
    (feeds, feeds.FeedWorld),
    (labels, labels.LabelsWorld),
    (jetstream, jetstream.JetstreamWorld),
    (tap, tap.TapWorld),
    (browser, browser.BrowserWorld),
    (bots, bots.BotWorld),
]


def members(protocol: type) -> set[str]:
    """The members a protocol declares, with its roles'."""
    names: set[str] = set()
    for cls in protocol.__mro__:
        if cls in (object, Protocol) or not getattr(cls, "_is_protocol", False):
            continue
        names |= {name for name in vars(cls) if not name.startswith("_")}
    return names


@pytest.mark.parametrize(("module", "protocol"), PARTS, ids=lambda p: getattr(p, "__name__", ""))
def test_a_part_uses_only_what_its_protocol_declares(module: object, protocol: type) -> None:
    used = set(USE.findall(inspect.getsource(module)))  # type: ignore[arg-type]
    assert used, "the pattern finds the part's uses"
    assert used <= members(protocol), f"{protocol.__name__} lacks {sorted(used - members(protocol))}"


def test_the_world_provides_every_role() -> None:
    assigned = set(re.findall(r"self\.([A-Za-z_]\w*)\s*[:=]", inspect.getsource(World.__init__)))
    roles = [cls for cls in vars(needs).values() if isinstance(cls, type) and getattr(cls, "_is_protocol", False)]
    assert len(roles) >= 9
    for role in roles:
        missing = {name for name in members(role) if not hasattr(World, name) and name not in assigned}
        assert not missing, f"World does not provide {role.__name__}: {sorted(missing)}"
