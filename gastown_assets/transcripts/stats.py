"""Counters of what the reader saw and dropped, for asset metadata."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class ParseStats:
    files: int = 0
    lines: int = 0
    bytes: int = 0
    records: Counter = field(default_factory=Counter)  # decoded objects, by record type
    # Everything dropped or repaired, by reason: record types, "invalid_json", "image_dropped"...
    skipped: Counter = field(default_factory=Counter)
    sessions: int = 0
    turns: int = 0
    redacted: Counter = field(default_factory=Counter)  # secrets replaced at ingest, by kind
