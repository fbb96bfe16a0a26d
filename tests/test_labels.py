"""Labels: strict parsing, signatures over the label without sig, negations, stream frames."""

from __future__ import annotations

import base64

import pytest

from atproto_bdd.protocol import dagcbor
from atproto_bdd.protocol.crypto import PublicKey
from atproto_bdd.protocol.labels import Label, LabelError, decode_label_frame, effective
from atproto_bdd.protocol.plc_ops import SigningKey

SRC = "did:plc:labelerlabelerlabelerlab"
POST = "at://did:plc:bobbobbobbobbobbobbobbob/app.bsky.feed.post/3kabc"


def signed(key: SigningKey, **fields: object) -> dict:
    label = {"ver": 1, "src": SRC, "uri": POST, "val": "spam", "cts": "2026-12-02T10:00:00.000Z", **fields}
    return {**label, "sig": key.sign(dagcbor.encode(label))}


def as_json(label: dict) -> dict:
    return {**label, "sig": {"$bytes": base64.b64encode(label["sig"]).decode().rstrip("=")}}


def test_a_signed_label_verifies_with_its_key_only() -> None:
    key = SigningKey.generate()
    label = Label.parse(as_json(signed(key)))
    assert label.verify(PublicKey.from_did_key(key.did_key))
    assert not label.verify(PublicKey.from_did_key(SigningKey.generate().did_key))


def test_the_signature_covers_every_field_but_sig() -> None:
    key = SigningKey.generate()
    tampered = {**as_json(signed(key)), "val": "ham"}
    assert not Label.parse(tampered).verify(PublicKey.from_did_key(key.did_key))
    with_neg = signed(key, neg=True)  # a negation signs its neg field too
    assert Label.parse(with_neg, encoding="cbor").verify(PublicKey.from_did_key(key.did_key))
    assert not Label.parse({**with_neg, "neg": False}, encoding="cbor").verify(PublicKey.from_did_key(key.did_key))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"src": "labeler"}, "src 'labeler' is not a DID"),
        ({"uri": "https://example.com"}, "neither an AT-URI nor a DID"),
        ({"val": ""}, "'val' must be a non-empty string"),
        ({"neg": "yes"}, "'neg' must be bool"),
        ({"ver": True}, "'ver' must be int"),
        ({"extra": 1}, "unknown field(s) extra"),
        ({"val": "x" * 129}, "longer than 128 bytes"),
    ],
)
def test_malformed_labels_are_refused(change: dict, message: str) -> None:
    base = {"src": SRC, "uri": POST, "val": "spam", "cts": "2026-12-02T10:00:00Z"}
    with pytest.raises(LabelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Label.parse({**base, **change})


def test_a_later_negation_withdraws_a_label_and_a_later_label_applies_it_again() -> None:
    def label(cts: str, neg: bool = False, **more: str) -> Label:
        return Label.parse({"src": SRC, "uri": POST, "val": "spam", "cts": cts, "neg": neg, **more})

    first, negation = label("2026-12-02T10:00:00Z"), label("2026-12-02T10:00:01Z", True)
    again = label("2026-12-02T10:00:02.5Z")
    assert effective([first]) == [first]
    assert effective([first, negation]) == []
    assert effective([negation, first]) == []  # order by time, not arrival
    assert effective([first, negation, again]) == [again]
    assert effective([label("2026-12-02T10:00:00Z", exp="2020-01-01T00:00:00Z")]) == []


def test_label_stream_frames_decode_labels_and_info() -> None:
    key = SigningKey.generate()
    frame = dagcbor.encode({"op": 1, "t": "#labels"}) + dagcbor.encode({"seq": 7, "labels": [signed(key)]})
    decoded = decode_label_frame(frame)
    assert (decoded.type, decoded.seq, decoded.labels[0].val) == ("labels", 7, "spam")
    assert decoded.labels[0].verify(PublicKey.from_did_key(key.did_key))
    info = decode_label_frame(dagcbor.encode({"op": 1, "t": "#info"}) + dagcbor.encode({"name": "OutdatedCursor"}))
    assert (info.type, info.info["name"]) == ("info", "OutdatedCursor")
    with pytest.raises(LabelError, match="unknown subscribeLabels frame type #commit"):
        decode_label_frame(dagcbor.encode({"op": 1, "t": "#commit"}) + dagcbor.encode({"seq": 1}))
    with pytest.raises(LabelError, match="integer seq"):
        decode_label_frame(dagcbor.encode({"op": 1, "t": "#labels"}) + dagcbor.encode({"labels": []}))
