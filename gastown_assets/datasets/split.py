"""Train/val split by a stable hash of the session id: a session lands in one set only."""

from __future__ import annotations

import hashlib


def session_bucket(session_id: str, salt: str) -> float:
    """A number in [0, 1) fixed by (salt, session id): stable across runs and machines."""
    digest = hashlib.sha256(f"{salt}:{session_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_val(session_id: str, val_fraction: float, salt: str) -> bool:
    return session_bucket(session_id, salt) < val_fraction
