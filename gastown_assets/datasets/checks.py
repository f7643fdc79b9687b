"""Re-read written dataset files: what the blocking asset checks assert."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson

from .secrets import Redactor, scan_row


def read_rows(path: Path):
    """The rows of a dataset file (train.jsonl, val.jsonl), one at a time."""
    with path.open("rb") as f:
        for line in f:
            yield orjson.loads(line)


def scan_file(path: Path, redactor: Redactor | None = None) -> Counter:
    """Secret kinds still present in a dataset file (kinds and counts only, never values)."""
    redactor = redactor or Redactor()
    found: Counter = Counter()
    for row in read_rows(path):
        found.update(scan_row(row, redactor))
    return found


def sessions_in_both(train: Path, val: Path) -> set[str]:
    train_ids = {row["session_id"] for row in read_rows(train)}
    return {row["session_id"] for row in read_rows(val)} & train_ids
