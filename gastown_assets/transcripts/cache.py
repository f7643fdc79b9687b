"""Parse each transcript file once: a cache of its sessions, keyed by size, mtime and content.

For every source file the cache holds a body (one JSON line per parsed Session) and an entry in
one manifest (the file's size, mtime_ns, sha256, parse stats, and per session its id, cwd, kind,
parent and byte span in the body). A rerun stats every file, re-parses only new or changed
ones, tags roles from the manifest alone, and copies the chosen sessions' lines without
decoding them. Role runs at once may each rewrite the manifest; one that loses the race only
costs a re-parse later, never a wrong answer (bodies are named by content hash).

Speed: a role's run may read the manifest of the whole corpus (10^4 files per 200 MB; see
corpus.py for when it does not), so it is read only when first needed, stored as arrays, not
objects (orjson reads them ~2x faster), and entries become tuples. A body is checked (its
size: cache files are not fsynced) only when its lines are read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import orjson

from gastown_assets.atomic import atomic_open, write_bytes
from gastown_assets.workers import Done, ordered_map

from .discover import SessionFile
from .reader import read_sessions
from .redact import RemovedSecret, SessionRedactor, cache_salt
from .stats import ParseStats
from .store import session_line

FORMAT = 7  # bump when the parser's output or the manifest's layout changes: old entries are re-parsed
# 7: secrets redacted at ingest (bodies hold no secret), removed secrets recorded (hash and context)


class CachedSession(NamedTuple):
    session_id: str
    cwd: str
    kind: str
    parent_session_id: str | None
    turns: int
    offset: int
    length: int


class CacheEntry(NamedTuple):
    source: str
    size: int
    mtime_ns: int
    sha256: str
    body: str  # file name of the body next to the manifest
    body_size: int  # checked before use: cache files are not fsynced
    stats: dict  # what the corpus tally sums: bytes, lines, skipped, redacted
    sessions: tuple[CachedSession, ...]
    removed: tuple[RemovedSecret, ...] = ()  # secrets redacted in this file (hashes, never values)

    @classmethod
    def from_row(cls, row: list) -> CacheEntry:
        # tuple.__new__ directly: a NamedTuple's own __new__ binds arguments (10^4 entries a run)
        return _new(
            cls,
            (
                *row[:7],
                tuple([_new(CachedSession, s) for s in row[7]]),
                tuple([_new(RemovedSecret, r) for r in row[8]]) if row[8] else (),
            ),
        )


_new = tuple.__new__


def file_sha256(path: Path | str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class ParseCache:
    MANIFEST = "manifest.json"
    POOL_AFTER = 256  # files parsed here before the rest go to worker processes (see workers.py)

    def __init__(self, cache_dir: Path):
        self.dir = cache_dir
        self.parsed = 0  # files parsed this run (the rest came from the cache)
        self.reused = 0
        self._loaded: dict[str, CacheEntry] | None = None  # read when first needed
        self._changed = False
        self._salt: bytes | None = None

    @property
    def salt(self) -> bytes:
        """The salt of the removed secrets' hashes (made with the cache, kept beside it)."""
        if self._salt is None:
            self._salt = cache_salt(self.dir)
        return self._salt

    @property
    def salt_id(self) -> str:
        """Names the salt (not a secret: a hash of it), for what depends on it."""
        return hashlib.sha256(self.salt).hexdigest()[:16]

    @property
    def _entries(self) -> dict[str, CacheEntry]:
        if self._loaded is None:
            self._loaded = self._load_manifest()
        return self._loaded

    def _load_manifest(self) -> dict[str, CacheEntry]:
        path = self.dir / self.MANIFEST
        try:
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("salt") != self.salt_id:
            self._purge_older_than(path)  # another format (older ones kept secrets), or another salt
            return {}
        try:
            rows = data["entries"]
            if not all(len(row) == len(CacheEntry._fields) for row in rows):
                return {}
            return {row[0]: CacheEntry.from_row(row) for row in rows}
        except (KeyError, TypeError, IndexError):  # damaged: everything is parsed again
            return {}

    def _purge_older_than(self, manifest: Path) -> None:
        """Remove the bodies an out-of-date manifest named (all bodies no newer than it): they are
        parsed again as needed, and before format 7 they held the transcripts' secrets. A body a
        run beside this one wrote since is newer, and kept."""
        try:
            written = manifest.stat().st_mtime_ns
        except OSError:
            return
        for body in self.dir.glob("*.jsonl"):
            try:
                if body.stat().st_mtime_ns <= written:
                    body.unlink()
            except OSError:
                pass

    def save(self) -> None:
        """Write the manifest if this run parsed anything."""
        if self._changed:
            entries = list(self._entries.values())
            with atomic_open(self.dir / self.MANIFEST, durable=False) as out:
                out.write(b'{"format":%d,"salt":"%s","entries":[' % (FORMAT, self.salt_id.encode()))
                for i in range(0, len(entries), 1024):  # a slice at a time: no copy of the whole manifest
                    if i:
                        out.write(b",")
                    rows = [
                        [*e[:7], [list(s) for s in e.sessions], [list(r) for r in e.removed]]
                        for e in entries[i : i + 1024]
                    ]
                    out.write(orjson.dumps(rows)[1:-1])
                out.write(b"]}")
            self._changed = False

    def entries(self, files: list[SessionFile]) -> Iterator[CacheEntry]:
        """Each file's entry, in order; new or changed files are parsed first (in worker
        processes when there are many: a first run parses the whole corpus)."""

        def jobs():
            for f in files:
                old = self._entries.get(f.source)
                if old is not None and old.size == f.size and old.mtime_ns == f.mtime_ns:
                    yield Done((old, False))
                else:
                    yield self.dir, f, old, self.salt

        for entry, parsed in ordered_map(_refresh, jobs(), start_after=self.POOL_AFTER):
            old = self._entries.get(entry.source)
            if parsed:
                self.parsed += 1
                if old is not None and old.body != entry.body:
                    (self.dir / old.body).unlink(missing_ok=True)
            else:
                self.reused += 1
            if entry is not old:
                self._entries[entry.source] = entry
                self._changed = True
            yield entry

    def reparse(self, f: SessionFile) -> CacheEntry:
        """Parse the file again (its body was found damaged)."""
        old = self._entries.get(f.source)
        self.parsed += 1
        entry = parse_file(self.dir, f, file_sha256(f.source), self.salt)
        if old is not None and old.body != entry.body:
            (self.dir / old.body).unlink(missing_ok=True)
        self._entries[entry.source] = entry
        self._changed = True
        return entry

    def session_lines(self, entry: CacheEntry, wanted: list[CachedSession]) -> Iterator[bytes]:
        """The stored JSON lines of `wanted` sessions, read by offset, not decoded. Raises
        DamagedBody (before yielding anything) when the body is not the one the entry wrote."""
        if not wanted:
            return
        try:
            f = (self.dir / entry.body).open("rb")
        except OSError:
            raise DamagedBody(entry.source) from None
        with f:
            data = f.read()
            if len(data) != entry.body_size:
                raise DamagedBody(entry.source)
        for s in wanted:
            yield data[s.offset : s.offset + s.length]


class DamagedBody(Exception):
    """A cache body is missing or cut short: its file must be parsed again."""


def _body_intact(cache_dir: Path, entry: CacheEntry) -> bool:
    try:
        return (cache_dir / entry.body).stat().st_size == entry.body_size
    except OSError:
        return False


def _refresh(job: tuple[Path, SessionFile, CacheEntry | None, bytes]) -> tuple[CacheEntry, bool]:
    """A new or changed file's entry, and whether it was parsed (not when only touched)."""
    cache_dir, f, old, salt = job
    sha = file_sha256(f.source)
    if old is not None and old.sha256 == sha and _body_intact(cache_dir, old):
        return old._replace(size=f.size, mtime_ns=f.mtime_ns), False  # touched, not changed
    return parse_file(cache_dir, f, sha, salt), True


_REDACTORS: dict[bytes, SessionRedactor] = {}  # per salt, in each process


def _redactor(salt: bytes) -> SessionRedactor:
    redactor = _REDACTORS.get(salt)
    if redactor is None:
        _REDACTORS.clear()
        redactor = _REDACTORS[salt] = SessionRedactor(salt)
    return redactor


def parse_file(cache_dir: Path, f: SessionFile, sha: str, salt: bytes) -> CacheEntry:
    """Parse a transcript file into its body (written next to the manifest) and entry. Its
    secrets are redacted as it is parsed (see redact.py): the body never holds one."""
    stats = ParseStats()
    body_name = f"{hashlib.sha1(f.source.encode()).hexdigest()[:20]}.{sha[:16]}.jsonl"
    spans, offset, lines = [], 0, []
    redactor = _redactor(salt)
    redactor.take()
    for s in read_sessions(f.source, stats, redactor=redactor):
        line = session_line(s)
        lines.append(line)
        spans.append(CachedSession(s.session_id, s.cwd, s.kind, s.parent_session_id, len(s.turns), offset, len(line)))
        offset += len(line)
    # not fsynced: its size is checked before use (10^4 bodies in a first run)
    write_bytes(cache_dir / body_name, b"".join(lines), durable=False)
    kept = {
        "bytes": stats.bytes,
        "lines": stats.lines,
        "skipped": dict(sorted(stats.skipped.items())),
        "redacted": dict(sorted(stats.redacted.items())),
    }
    return CacheEntry(f.source, f.size, f.mtime_ns, sha, body_name, offset, kept, tuple(spans), tuple(redactor.take()))
