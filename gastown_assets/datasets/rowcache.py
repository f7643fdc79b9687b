"""Rows already built for a session, so a rerun only does the work for new sessions.

A cache entry is keyed by hash(stored session line, build spec digest): any change to the
session, the system prompt, the token budget, the tokenizer or the scrubber gives a new key.
On disk: one header line per entry (`<key> <bytes of its rows> <JSON: session id, token counts,
drop and redaction counts, dedup fingerprints>`) followed by its row lines, ready to copy into
train/val as they are.

The file is append-only: a build appends the entries it had to make (each in one O_APPEND
write, so builds at once do not interleave) and reads the rest in place; when less than half of
the file is entries the build used, it is compacted to those. The cache is not fsynced: an
entry is checked (whole header, row count, trailing newline) before use, a damaged one is a
miss, and scanning stops at a damaged tail (compacted away at the end of the build).
"""

from __future__ import annotations

import os
from collections import Counter
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


def _entry(key: str, rows: SessionRows) -> bytes:
    block = b"".join(rows.lines)
    meta = orjson.dumps(
        {
            "session_id": rows.session_id,
            "tokens": rows.tokens,
            "sig": [s.hex() for s in rows.fingerprints],
            "dropped": rows.dropped,
            "redacted": rows.redacted,
        }
    )
    return b"%s %d %s\n%s" % (key.encode(), len(block), meta, block)


class RowCache:
    """Open with `with`: a clean exit compacts the file when due and closes it."""

    COMPACT_BELOW = 0.5  # fraction of the file in entries this build used

    def __init__(self, path: Path):
        self.path = path
        self.index: dict[str, tuple[int, int]] = {}  # key -> (offset of the entry, its length)
        self.hits = self.misses = 0
        self._size = 0  # bytes in the file (appends included)
        self._damaged = False  # scanning stopped short of the end
        self._used: dict[str, None] = {}  # keys this build used, in order
        self._read = self._append = None
        if path.is_file():
            self._scan()

    def _scan(self) -> None:
        """Index entries by reading their header lines and skipping their rows."""
        with self.path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            offset = 0
            while offset < size:
                f.seek(offset)
                header = f.readline(256)  # key and size lead the header
                parts = header.split(b" ", 2)
                try:
                    key, rows = parts[0].decode("ascii"), int(parts[1])
                except (IndexError, ValueError, UnicodeDecodeError):
                    break
                line = f.readline() if not header.endswith(b"\n") else b""
                length = len(header) + len(line) + rows
                if len(parts) < 3 or not (header + line).endswith(b"\n") or offset + length > size:
                    break
                self.index[key] = (offset, length)
                offset += length
            self._damaged = offset < size
            self._size = size

    def __enter__(self) -> RowCache:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if (
                exc_type is None
                and self._size
                and (self._damaged or sum(self.index[k][1] for k in self._used) < self.COMPACT_BELOW * self._size)
            ):
                self._compact()
        finally:
            if self._read is not None:
                self._read.close()
            if self._append is not None:
                os.close(self._append)
            self._read = self._append = None

    def get(self, key: str) -> SessionRows | None:
        where = self.index.get(key)
        rows = self._load(key, *where) if where is not None else None
        if rows is None:
            self.misses += 1
            return None
        self.hits += 1
        self._used[key] = None
        return rows

    def _load(self, key: str, offset: int, length: int) -> SessionRows | None:
        f = self._read = self._read or self.path.open("rb")
        f.seek(offset)
        data = f.read(length)
        end = data.find(b"\n")
        if not data.startswith(b"%s " % key.encode()):
            return None
        try:
            meta = orjson.loads(data[data.index(b" ", len(key) + 1) + 1 : end])
            n = len(meta["tokens"])
        except (ValueError, orjson.JSONDecodeError, KeyError, TypeError):
            return None
        block = data[end + 1 :]
        if block.count(b"\n") != n or (n and not block.endswith(b"\n")) or len(data) != length:
            return None  # cut short or overwritten: the cache is not fsynced
        lines = [line + b"\n" for line in block.split(b"\n")[:-1]] if n else []
        return SessionRows(
            meta["session_id"],
            lines,
            meta["tokens"],
            [bytes.fromhex(s) for s in meta["sig"]],
            Counter(meta["dropped"]),
            Counter(meta["redacted"]),
        )

    def put(self, key: str, rows: SessionRows) -> None:
        """Remember rows built this run (appended at once: a killed build keeps what it made)."""
        entry = _entry(key, rows)
        if self._append is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._append = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        written = os.write(self._append, entry)
        end = os.lseek(self._append, 0, os.SEEK_CUR)  # O_APPEND: where this write ended
        if written == len(entry):
            self.index[key] = (end - len(entry), len(entry))
            self._used[key] = None
        else:  # short write (disk full): the torn entry is found damaged and compacted away
            self._damaged = True
        self._size = max(self._size, end)

    def _compact(self) -> None:
        """Rewrite the file with the entries this build used (a damaged tail goes too)."""
        src = self._read = self._read or self.path.open("rb")
        index: dict[str, tuple[int, int]] = {}
        offset = 0
        with atomic_open(self.path, durable=False) as out:
            for key in self._used:
                start, length = self.index[key]
                src.seek(start)
                out.write(src.read(length))
                index[key] = (offset, length)
                offset += length
        self.index, self._size, self._damaged = index, offset, False
