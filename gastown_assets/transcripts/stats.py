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

    def merge(self, other: ParseStats) -> ParseStats:
        """Add other's counts into self (per-file stats -> corpus stats); returns self."""
        self.files += other.files
        self.lines += other.lines
        self.bytes += other.bytes
        self.records.update(other.records)
        self.skipped.update(other.skipped)
        self.sessions += other.sessions
        self.turns += other.turns
        self.redacted.update(other.redacted)
        return self

    def as_dict(self) -> dict:
        """Plain, JSON-able dict with keys sorted so metadata diffs stay stable."""
        return {
            "files": self.files,
            "lines": self.lines,
            "bytes": self.bytes,
            "sessions": self.sessions,
            "turns": self.turns,
            "records": dict(sorted(self.records.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "redacted": dict(sorted(self.redacted.items())),
        }
