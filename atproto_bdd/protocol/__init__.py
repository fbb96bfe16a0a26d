"""Layer 1: the protocol - XRPC, event streams, CAR/DAG-CBOR/CIDs/MST, keys, OAuth + DPoP, identifiers.

It imports no other layer.
"""

from __future__ import annotations

from ..errors import TransportError, XrpcError
from .syntax import AtUri, is_did, is_handle, is_nsid
from .xrpc import XrpcClient, XrpcExchange

__all__ = ["AtUri", "TransportError", "XrpcClient", "XrpcError", "XrpcExchange", "is_did", "is_handle", "is_nsid"]
