"""A role's parsed sessions on disk: one JSON line per Session, written atomically.

raw_transcripts writes it once per run; the dataset build streams it back, so neither side
holds the corpus in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path

import orjson

from gastown_assets.atomic import atomic_open

from .model import Session, ToolCall, Turn


def session_from_dict(d: dict) -> Session:
    turns = [
        Turn(**{**t, "tool_calls": [ToolCall(**c) for c in t.get("tool_calls", [])]})
        for t in d["turns"]
    ]
    return Session(**{**d, "turns": turns})


def write_sessions(path: Path, sessions: Iterable[Session]) -> tuple[int, str]:
    """Write sessions to path via a temp file + rename; returns (count, sha256 of the bytes)."""
    digest, count = hashlib.sha256(), 0
    with atomic_open(path) as out:
        for session in sessions:
            line = orjson.dumps(asdict(session)) + b"\n"
            out.write(line)
            digest.update(line)
            count += 1
    return count, digest.hexdigest()


def read_stored_sessions(path: Path) -> Iterator[Session]:
    with path.open("rb") as f:
        for line in f:
            yield session_from_dict(orjson.loads(line))
