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
        ({"val": "x" * 129}, "longer than 128 bytes"),
        ({"cts": "2026-12-02 10:00:00"}, "'cts' is '2026-12-02 10:00:00', not a datetime"),
        ({"exp": "tomorrow"}, "'exp' is 'tomorrow', not a datetime"),
        ({"cid": "bafy-not-a-cid"}, "'cid' is 'bafy-not-a-cid', not a CID"),
    ],
)
def test_malformed_labels_are_refused(change: dict, message: str) -> None:
    base = {"src": SRC, "uri": POST, "val": "spam", "cts": "2026-12-02T10:00:00Z"}
    with pytest.raises(LabelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Label.parse({**base, **change})


def test_fields_the_lexicon_does_not_define_are_kept_and_outside_the_signature() -> None:
    # @skyware/labeler 0.2.0 serves its database id with each label, and signs the label without it.
    key = SigningKey.generate()
    served = {**as_json(signed(key)), "id": 7, "note": {"any": ["json", 1.5]}}
    label = Label.parse(served)
    assert dict(label.extra) == {"id": 7, "note": {"any": ["json", 1.5]}}
    assert label.verify(PublicKey.from_did_key(key.did_key))
    assert label.signature_problem(PublicKey.from_did_key(key.did_key)) is None


def test_a_signature_over_the_extra_fields_too_is_rejected_saying_so() -> None:
    # What a verifier would reject: the label's own fields are not what was signed.
    key = SigningKey.generate()
    over_all = signed(key, id=7)  # the signature covers id too
    label = Label.parse(as_json(over_all))
    public = PublicKey.from_did_key(key.did_key)
    assert not label.verify(public)
    problem = label.signature_problem(public) or ""
    assert "made over the label with its extra field(s) id too" in problem
    tampered = Label.parse({**as_json(signed(key)), "val": "ham", "id": 7})
    assert tampered.signature_problem(public) == "its sig does not verify over the label's fields (without sig)"
    unsigned = Label.parse({k: v for k, v in as_json(signed(key)).items() if k != "sig"})
    assert unsigned.signature_problem(public) == "it has no sig"


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
