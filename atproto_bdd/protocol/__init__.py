"""Layer 2: protocol clients (XRPC, and the identifier syntax they use)."""

from __future__ import annotations

from ..errors import TransportError, XrpcError
from .syntax import AtUri, is_did, is_handle, is_nsid
from .xrpc import XrpcClient, XrpcExchange

__all__ = ["AtUri", "TransportError", "XrpcClient", "XrpcError", "XrpcExchange", "is_did", "is_handle", "is_nsid"]
