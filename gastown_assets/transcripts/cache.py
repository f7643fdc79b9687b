"""Parse each transcript file once: a cache of its sessions, keyed by size, mtime and content.

For every source file the cache holds a body (one JSON line per parsed Session) and an entry in
one manifest (the file's size, mtime_ns, sha256, parse stats, and per session its id, cwd, kind,
parent and byte span in the body). A rerun stats every file, re-parses only new or changed
ones, tags roles from the manifest alone, and copies the chosen sessions' lines without
decoding them. Role runs at once may each rewrite the manifest; one that loses the race only
costs a re-parse later, never a wrong answer (bodies are named by content hash).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import orjson

from gastown_assets.atomic import atomic_open

from .discover import SessionFile
from .reader import read_sessions
from .stats import ParseStats
from .store import session_line

FORMAT = 4  # bump when the parser's output changes, so old entries are re-parsed


@dataclass(frozen=True)
class CachedSession:
    session_id: str
    cwd: str
    kind: str
    parent_session_id: str | None
    turns: int
    offset: int
    length: int


@dataclass(frozen=True)
class CacheEntry:
    source: str
    size: int
    mtime_ns: int
    sha256: str
    body: str  # file name of the body next to the index
    body_size: int  # checked before use: cache files are not fsynced
    stats: dict
    sessions: tuple[CachedSession, ...]

    @classmethod
    def from_json(cls, data: dict) -> "CacheEntry":
        sessions = tuple(CachedSession(**s) for s in data["sessions"])
        return cls(**{k: v for k, v in data.items() if k != "sessions"}, sessions=sessions)


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class ParseCache:
    MANIFEST = "manifest.json"

    def __init__(self, cache_dir: Path):
        self.dir = cache_dir
        self.parsed = 0  # files parsed this run (the rest came from the cache)
        self.reused = 0
        self._entries = self._load_manifest()
        self._changed = False

    def _load_manifest(self) -> dict[str, CacheEntry]:
        try:
            data = orjson.loads((self.dir / self.MANIFEST).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {}
        return {e["source"]: CacheEntry.from_json(e) for e in data["entries"]}

    def save(self) -> None:
        """Write the manifest if this run parsed anything."""
        if self._changed:
            with atomic_open(self.dir / self.MANIFEST, durable=False) as out:
                out.write(orjson.dumps({"format": FORMAT, "entries": list(self._entries.values())}))
            self._changed = False

    def entry(self, f: SessionFile) -> CacheEntry:
        """The file's cache entry, parsing it first when new or changed."""
        old = self._entries.get(str(f.path))
        if old and not self._body_intact(old):
            old = None
        if old and (old.size, old.mtime_ns) == (f.size, f.mtime_ns):
            self.reused += 1
            return old
        sha = file_sha256(f.path)
        if old and old.sha256 == sha:  # touched, not changed: remember the new mtime
            self.reused += 1
            self._entries[old.source] = replace(old, mtime_ns=f.mtime_ns)
            self._changed = True
            return old
        self.parsed += 1
        entry = self._parse(f, sha)
        if old and old.body != entry.body:
            (self.dir / old.body).unlink(missing_ok=True)
        self._entries[entry.source] = entry
        self._changed = True
        return entry

    def _body_intact(self, entry: CacheEntry) -> bool:
        try:
            return (self.dir / entry.body).stat().st_size == entry.body_size
        except OSError:
            return False

    def _parse(self, f: SessionFile, sha: str) -> CacheEntry:
        stats = ParseStats()
        body_name = f"{hashlib.sha1(str(f.path).encode()).hexdigest()[:20]}.{sha[:16]}.jsonl"
        spans, offset = [], 0
        with atomic_open(self.dir / body_name, durable=False) as out:
            for s in read_sessions(f.path, stats):
                line = session_line(s)
                out.write(line)
                spans.append(CachedSession(s.session_id, s.cwd, s.kind, s.parent_session_id,
                                           len(s.turns), offset, len(line)))
                offset += len(line)
        return CacheEntry(str(f.path), f.size, f.mtime_ns, sha, body_name, offset, stats.as_dict(), tuple(spans))

    def session_lines(self, entry: CacheEntry, wanted: list[CachedSession]) -> Iterator[bytes]:
        """The stored JSON lines of `wanted` sessions, read by offset, not decoded."""
        if not wanted:
            return
        with (self.dir / entry.body).open("rb") as f:
            for s in wanted:
                f.seek(s.offset)
                yield f.read(s.length)
