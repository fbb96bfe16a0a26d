"""Validation and order of declarative seeding, against a recording fake world."""

from __future__ import annotations

import pytest

from atproto_bdd.errors import UsageError
from atproto_bdd.world.seeding import apply_description


class FakeAccount:
    def __init__(self, world, handle):
        self.world, self.handle = world, handle

    def post(self, text):
        self.world.calls.append(("post", self.handle, text))

    def follow(self, other):
        self.world.calls.append(("follow", self.handle, other.handle))

    def like(self, ref):
        self.world.calls.append(("like", self.handle, ref))

    def repost(self, ref):
        self.world.calls.append(("repost", self.handle, ref))

    def latest(self, collection):
        return f"latest {collection} of {self.handle}"

    def create_record(self, collection, record):
        self.world.calls.append(("record", self.handle, collection, record))


class FakeWorld:
    def __init__(self):
        self.calls = []

    def ensure_pds(self, name):
        self.calls.append(("pds", name))

    def ensure_account(self, handle, pds=None):
        if pds is not None or not any(c[:2] == ("account", handle) for c in self.calls):
            self.calls.append(("account", handle, pds))
        return FakeAccount(self, handle)

    def account(self, handle):
        return FakeAccount(self, handle)

    def resolve_data(self, data):
        return {k: (v.replace("${now}", "NOW") if isinstance(v, str) else v) for k, v in data.items()}


def test_sections_apply_in_order_with_placeholders_per_item() -> None:
    world = FakeWorld()
    apply_description(
        world,
        {
            "records": [{"author": "alice.test", "collection": "com.example.x", "record": {"at": "${now}"}}],
            "posts": [{"author": "alice.test", "text": "at ${now}"}],
            "accounts": ["alice.test", {"handle": "bob.test", "pds": "B"}],
            "pdses": ["A", "B"],
            "likes": [{"by": "bob.test", "post": "alice.test"}],
        },
    )
    assert world.calls == [
        ("pds", "A"),
        ("pds", "B"),
        ("account", "alice.test", None),
        ("account", "bob.test", "B"),
        ("post", "alice.test", "at NOW"),
        ("like", "bob.test", "latest app.bsky.feed.post of alice.test"),
        ("record", "alice.test", "com.example.x", {"at": "${now}"}),
    ]


@pytest.mark.parametrize(
    "description,message",
    [
        ({"people": []}, "unknown section(s) people; valid sections: pdses, accounts, posts, follows"),
        ({"posts": [{"author": "a.test"}]}, "posts[0]: missing key(s) text; valid keys: author, text"),
        ({"follows": [{"follower": "a.test", "subject": "b.test", "when": 1}]}, "follows[0]: unknown key(s) when"),
        (
            {"accounts": [{"handle": "a.test", "server": "A"}]},
            "accounts[0]: unknown key(s) server; valid keys: handle, pds (optional)",
        ),
        ({"posts": "hello"}, "posts must be a list"),
        (
            {"posts": [{"author": "a.test", "text": ["not", "a", "string"]}]},
            "posts[0].text must be text, got list ['not', 'a', 'string']",
        ),
        ({"posts": [{"author": "a.test", "text": True}]}, "posts[0].text must be text, got bool True (quote it"),
        (["alice.test"], "must be a mapping of sections, got list"),
    ],
)
def test_mistakes_are_named(description, message) -> None:
    with pytest.raises(UsageError) as caught:
        apply_description(FakeWorld(), description)
    assert message in str(caught.value)
