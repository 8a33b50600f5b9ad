"""Stable seed derivation (docs/rules.md, "Seeds"): never Python's salted ``hash()``."""

from __future__ import annotations

import hashlib


def derive_seed(*parts: object) -> int:
    """A 31-bit seed from any parts (root seed, study, trial, names...), the same on
    every machine and every run: the first 4 bytes of SHA-256 of their ``repr``s."""
    digest = hashlib.sha256("\x1f".join(repr(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFF_FFFF
