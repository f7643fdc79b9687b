"""A role's store: its picked sessions' lines in one file (transcripts/<role>/sessions.jsonl),
the record of secrets removed from them beside it, and the stamp and layout that let a rerun
keep or copy it instead of reading the cache bodies again (see transcripts/corpus.py)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from gastown_assets.atomic import atomic_open

from .cache import FORMAT, CachedSession, CacheEntry, DamagedBody, ParseCache
from .discover import SessionFile
from .redact import RemovedSecret, record_bytes

Pick = tuple[SessionFile, CacheEntry, list[CachedSession]]


def removed_in(picks: list[Pick]) -> list[RemovedSecret]:
    """The secrets redacted from the picked sessions (their hashes and contexts), in order."""
    out: list[RemovedSecret] = []
    for _, entry, wanted in picks:
        if entry.removed:
            ids = {s.session_id for s in wanted}
            out.extend(r for r in entry.removed if r.session_id in ids)
    return out


def pick_lines(picks: list[Pick], cache: ParseCache) -> Iterator[bytes]:
    """The picked sessions' stored lines; a file whose cache body is damaged is parsed again."""
    for f, entry, wanted in picks:
        try:
            lines = list(cache.session_lines(entry, wanted))
        except DamagedBody:
            fresh = cache.reparse(f)
            ids = {s.session_id for s in wanted}
            lines = list(cache.session_lines(fresh, [s for s in fresh.sessions if s.session_id in ids]))
        yield from lines


@dataclass(frozen=True)
class RoleStore:
    path: str
    sessions: int
    digest: str  # sha256 of the store's bytes
    removed: int = 0  # secrets redacted from its sessions (listed, as hashes, in its record)


def _stamp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.stamp")


RECORD_SUFFIX = ".removed-secrets.json"  # beside the store: what was redacted from its sessions (no values)
RECORD = "sessions" + RECORD_SUFFIX  # a role's: transcripts/<role>/sessions.removed-secrets.json


def record_path(store_path: Path) -> Path:
    return store_path.with_name(store_path.stem + RECORD_SUFFIX)


def reuse(path: Path, key: str) -> RoleStore | None:
    """The store written for the same picks, when it is still the file that was written."""
    try:
        stamp = orjson.loads(_stamp_path(path).read_bytes())
        if (
            stamp["key"] == key
            and path.stat().st_size == stamp["bytes"]
            and record_path(path).stat().st_size == stamp["record_bytes"]
        ):
            return RoleStore(str(path), stamp["sessions"], stamp["digest"], stamp["removed"])
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        pass
    return None


def _layout_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.layout")


class _OldStore:
    """The store as last written, whose sessions' lines are copied into the next one instead of
    being read again from (up to 10^4) cache bodies: a rerun's new store is mostly the old one."""

    COPY = 1 << 23  # bytes copied at a time

    def __init__(self, path: Path):
        self.where: dict[tuple, int] = {}  # (source, sha256, offset, length) -> position in the store
        self.file = None
        try:
            stamp = orjson.loads(_stamp_path(path).read_bytes())
            layout = orjson.loads(_layout_path(path).read_bytes())
            if layout["digest"] != stamp["digest"] or layout["format"] != FORMAT:
                return
            position = 0
            for source, sha, spans in layout["picks"]:
                for offset, length in spans:
                    self.where[(source, sha, offset, length)] = position
                    position += length
            file = path.open("rb")
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            self.where.clear()
            return
        if os.fstat(file.fileno()).st_size != stamp["bytes"] or position != stamp["bytes"]:
            file.close()
            self.where.clear()
            return
        self.file = file

    def close(self) -> None:
        if self.file is not None:
            self.file.close()

    def copy(self, start: int, end: int) -> Iterator[bytes]:
        self.file.seek(start)
        while start < end:
            chunk = self.file.read(min(self.COPY, end - start))
            if not chunk:
                raise OSError("the old store shrank while being copied")
            start += len(chunk)
            yield chunk


def _store_bytes(picks: list[Pick], cache: ParseCache, old: _OldStore) -> Iterator[bytes]:
    """The new store's bytes: runs of the old store where it holds the same sessions, cache
    bodies for the rest."""
    run_start = run_end = -1
    for f, entry, wanted in picks:
        fresh: list[CachedSession] = []
        for s in wanted:
            at = old.where.get((entry.source, entry.sha256, s.offset, s.length))
            if at is None:
                fresh.append(s)
                continue
            if fresh:  # keep the file's order: its earlier sessions that the old store lacked
                if run_start >= 0:
                    yield from old.copy(run_start, run_end)
                    run_start = -1
                yield from pick_lines([(f, entry, fresh)], cache)
                fresh = []
            if at == run_end:
                run_end += s.length
            else:
                if run_start >= 0:
                    yield from old.copy(run_start, run_end)
                run_start, run_end = at, at + s.length
        if fresh:
            if run_start >= 0:
                yield from old.copy(run_start, run_end)
                run_start = run_end = -1
            yield from pick_lines([(f, entry, fresh)], cache)
    if run_start >= 0:
        yield from old.copy(run_start, run_end)


def write_store(path: Path, picks: list[Pick], key: str, cache: ParseCache) -> RoleStore:
    removed = removed_in(picks)
    with atomic_open(record_path(path)) as out:  # the record first: the stamp names both
        out.write(record_bytes(cache.salt, removed))
    old = _OldStore(path)
    try:
        _stamp_path(path).unlink(missing_ok=True)
        digest = hashlib.sha256()
        with atomic_open(path) as out:
            for chunk in _store_bytes(picks, cache, old):
                out.write(chunk)
                digest.update(chunk)
    finally:
        old.close()
    count = sum(len(wanted) for _, _, wanted in picks)
    store = RoleStore(str(path), count, digest.hexdigest(), len(removed))
    with atomic_open(_stamp_path(path), durable=False) as out:
        out.write(
            orjson.dumps(
                {
                    "key": key,
                    "sessions": count,
                    "digest": store.digest,
                    "bytes": path.stat().st_size,
                    "record_bytes": record_path(path).stat().st_size,
                    "removed": len(removed),
                }
            )
        )
    with atomic_open(_layout_path(path), durable=False) as out:
        out.write(
            orjson.dumps(
                {
                    "digest": store.digest,
                    "format": FORMAT,
                    "picks": [
                        [entry.source, entry.sha256, [(s.offset, s.length) for s in wanted]]
                        for _, entry, wanted in picks
                    ],
                }
            )
        )
    return store
