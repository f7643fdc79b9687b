"""A role's parsed sessions on disk: one JSON line per Session, written atomically.

raw_transcripts writes it once per run; the dataset build streams it back, so neither side
holds the corpus in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from .model import Session, ToolCall, Turn


def session_from_dict(d: dict) -> Session:
    turns = [Turn(**{**t, "tool_calls": [ToolCall(**c) for c in t.get("tool_calls", [])]}) for t in d["turns"]]
    return Session(**{**d, "turns": turns})


def session_line(session: Session) -> bytes:
    return orjson.dumps(session) + b"\n"  # orjson serialises (slotted) dataclasses natively


def read_stored_lines(path: Path) -> Iterator[bytes]:
    """The raw stored lines: callers hash them to find cached work before decoding."""
    with path.open("rb") as f:
        yield from f
