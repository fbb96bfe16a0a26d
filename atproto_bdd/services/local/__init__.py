"""The embedded local runtime (no Docker): :class:`LocalRuntime`, composed of one mixin per service."""

from .runtime import LocalRuntime

__all__ = ["LocalRuntime"]
