"""A labeler fixture for tests/test_label_signatures.py, written without atproto-bdd's own code.

It serves one label ``spam`` on SUBJECT over ``com.atproto.label.queryLabels``,
with an extra field ``id`` as @skyware/labeler does. SIGNED_OVER says what its
signature covers: ``lexicon`` (the label's own fields, as verifiers check it)
or ``served`` (everything it serves but ``sig``, ``id`` included: a mistake a
verifier rejects). DAG-CBOR comes from cbor2's canonical mode (the same key
order for these plain maps), the signature from cryptography (low-S, r||s).
"""

import base64
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # secp256k1's n

key = ec.derive_private_key(int(os.environ["SIGNING_KEY"], 16), ec.SECP256K1())
label = {
    "ver": 1,
    "src": os.environ["LABELER_DID"],
    "uri": os.environ["SUBJECT"],
    "val": "spam",
    "neg": False,
    "cts": "2026-12-07T10:00:00.000Z",
}
served = {**label, "id": 1}
covered = served if os.environ["SIGNED_OVER"] == "served" else label
r, s = utils.decode_dss_signature(key.sign(cbor2.dumps(covered, canonical=True), ec.ECDSA(hashes.SHA256())))
s = min(s, ORDER - s)  # low-S, as atproto requires
signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
served["sig"] = {"$bytes": base64.b64encode(signature).decode().rstrip("=")}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if not self.path.startswith("/xrpc/com.atproto.label.queryLabels"):
            self.send_error(404)
            return
        page = {"labels": []} if "cursor=1" in self.path else {"cursor": "1", "labels": [served]}
        body = json.dumps(page).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
