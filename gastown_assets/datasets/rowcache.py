"""Rows already built for a session, so a rerun only does the work for new sessions.

A cache entry is keyed by hash(stored session line, build spec digest): any change to the
session, the system prompt, the token budget, the tokenizer or the scrubber gives a new key.
On disk: one header line per entry (key, row count, token counts, drop and redaction counts,
dedup fingerprints) followed by its row lines, ready to copy into train/val as they are.
Each run writes a fresh cache holding only the entries it used, so it never grows stale.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from gastown_assets.atomic import atomic_open


@dataclass
class SessionRows:
    session_id: str
    lines: list[bytes]  # serialized rows, newline-terminated
    tokens: list[int]
    fingerprints: list[bytes]  # per row, for dedup (Deduper.fingerprint)
    dropped: Counter = field(default_factory=Counter)
    redacted: Counter = field(default_factory=Counter)


def _header(key: str, rows: SessionRows) -> bytes:
    return orjson.dumps({
        "k": key, "session_id": rows.session_id, "tokens": rows.tokens, "sig": [s.hex() for s in rows.fingerprints],
        "dropped": rows.dropped, "redacted": rows.redacted,
    }) + b"\n"


class RowCache:
    def __init__(self, path: Path):
        self.path = path
        self.index: dict[str, tuple[int, int]] = {}  # key -> (offset of header, row count)
        self.hits = self.misses = 0
        self._file = None
        if path.is_file():
            self._scan()

    def _scan(self) -> None:
        """Index headers by skipping over row lines without decoding them."""
        with self.path.open("rb") as f:
            offset = 0
            while header := f.readline():
                try:
                    meta = orjson.loads(header)
                    n = len(meta["tokens"])
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    self.index.clear()  # a damaged cache is dropped whole, not trusted
                    return
                self.index[meta["k"]] = (offset, n)
                offset += len(header)
                for _ in range(n):
                    line = f.readline()
                    if not line.endswith(b"\n"):  # cut short: the cache is not fsynced
                        self.index.clear()
                        return
                    offset += len(line)

    def get(self, key: str) -> SessionRows | None:
        where = self.index.get(key)
        if where is None:
            self.misses += 1
            return None
        self.hits += 1
        f = self._file = self._file or self.path.open("rb")
        f.seek(where[0])
        meta = orjson.loads(f.readline())
        lines = [f.readline() for _ in range(where[1])]
        return SessionRows(meta["session_id"], lines, meta["tokens"], [bytes.fromhex(s) for s in meta["sig"]],
                           Counter(meta["dropped"]), Counter(meta["redacted"]))

    @contextmanager
    def writer(self) -> Iterator["_Writer"]:
        """The next cache generation; replaces this one when the build finishes."""
        with atomic_open(self.path.with_name(self.path.name + ".next"), durable=False) as out:
            yield _Writer(out)
        if self._file:
            self._file.close()
        self.path.with_name(self.path.name + ".next").replace(self.path)


class _Writer:
    def __init__(self, out):
        self.out = out

    def put(self, key: str, rows: SessionRows) -> None:
        self.out.write(_header(key, rows))
        self.out.writelines(rows.lines)
