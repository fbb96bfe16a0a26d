"""Declarative seeding: a whole network described as data (from YAML or JSON).

::

    pdses: [A, B]                      # optional; started first
    accounts:                          # a handle, or {handle, pds}
      - alice.test
      - {handle: bob.test, pds: B}
    posts:
      - {author: alice.test, text: Hello}
    follows:
      - {follower: bob.test, subject: alice.test}
    likes:                             # post: whose latest post
      - {by: bob.test, post: alice.test}
    reposts:
      - {by: bob.test, post: alice.test}
    records:
      - {author: alice.test, collection: com.example.project, record: {name: x}}

Sections are applied in that order, items in their order; placeholders in an
item are resolved just before it is applied, so ``${alice.test.latest.uri}``
means the latest record at that point. Accounts named anywhere but not listed
are created on the network's only PDS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .bsky import POST

if TYPE_CHECKING:
    from .world import World

SECTIONS: dict[str, tuple[list[str], list[str]]] = {
    # section: (required keys, optional keys) of each item
    "accounts": (["handle"], ["pds"]),
    "posts": (["author", "text"], []),
    "follows": (["follower", "subject"], []),
    "likes": (["by", "post"], []),
    "reposts": (["by", "post"], []),
    "records": (["author", "collection", "record"], []),
}


def apply_description(world: World, description: Any) -> None:
    """Create what ``description`` describes in ``world``'s network."""
    if not isinstance(description, Mapping):
        raise UsageError(f"the network description must be a mapping of sections, got {type(description).__name__}")
    valid = ["pdses", *SECTIONS]
    unknown = [key for key in description if key not in valid]
    if unknown:
        raise UsageError(f"unknown section(s) {', '.join(map(str, unknown))}; valid sections: {', '.join(valid)}")
    pdses = description.get("pdses") or []
    if not isinstance(pdses, list):
        raise UsageError("pdses must be a list of PDS names")
    for name in pdses:
        world.ensure_pds(str(name))
    for section, apply in _APPLY.items():
        items = description.get(section) or []
        if not isinstance(items, list):
            raise UsageError(f"{section} must be a list")
        for index, raw in enumerate(items):
            item = _item(section, index, raw)
            apply(world, world.resolve_data(item))


def _item(section: str, index: int, raw: Any) -> dict[str, Any]:
    required, optional = SECTIONS[section]
    if section == "accounts" and isinstance(raw, str):
        raw = {"handle": raw}
    where = f"{section}[{index}]"
    if not isinstance(raw, Mapping):
        raise UsageError(f"{where} must be a mapping with keys {', '.join(required + optional)}")
    missing = [key for key in required if key not in raw]
    unknown = [key for key in raw if key not in required + optional]
    if missing or unknown:
        problems = [f"missing key(s) {', '.join(missing)}"] if missing else []
        problems += [f"unknown key(s) {', '.join(map(str, unknown))}"] if unknown else []
        valid = ", ".join(required + [f"{key} (optional)" for key in optional])
        raise UsageError(f"{where}: {' and '.join(problems)}; valid keys: {valid}")
    for key, value in raw.items():
        # Text, or a number YAML read from unquoted text; a list, a mapping or a YAML boolean (yes/no) is a mistake.
        if key != "record" and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
            raise UsageError(
                f"{where}.{key} must be text, got {type(value).__name__} {value!r} (quote it in YAML if it is text)"
            )
    return dict(raw)


def _accounts(world: World, item: dict[str, Any]) -> None:
    world.ensure_account(str(item["handle"]), item.get("pds"))


def _posts(world: World, item: dict[str, Any]) -> None:
    world.ensure_account(str(item["author"])).post(str(item["text"]))


def _follows(world: World, item: dict[str, Any]) -> None:
    world.ensure_account(str(item["follower"])).follow(world.ensure_account(str(item["subject"])))


def _likes(world: World, item: dict[str, Any]) -> None:
    world.ensure_account(str(item["by"])).like(world.account(str(item["post"])).latest(POST))


def _reposts(world: World, item: dict[str, Any]) -> None:
    world.ensure_account(str(item["by"])).repost(world.account(str(item["post"])).latest(POST))


def _records(world: World, item: dict[str, Any]) -> None:
    if not isinstance(item["record"], Mapping):
        raise UsageError(f"a record must be a mapping, got {item['record']!r}")
    world.ensure_account(str(item["author"])).create_record(str(item["collection"]), item["record"])


_APPLY: dict[str, Callable[[World, dict[str, Any]], None]] = {
    "accounts": _accounts,
    "posts": _posts,
    "follows": _follows,
    "likes": _likes,
    "reposts": _reposts,
    "records": _records,
}
