"""Pick one role's sessions out of a whole corpus, streaming, with a tally of everything else.

Every role's run tags the whole corpus from the parse cache's manifest (a role's sessions are
known only once every session is tagged), then writes its store only when what it picked
changed: a stamp beside the store names the picked sessions (source file, its content hash,
span in the body), so a rerun where nothing of the role changed reads no body at all.

The tagging's outcome is itself cached, keyed by the listing (every file's path, size and
mtime), the role rules and the parser's format: the tally, every role's picks key, and per role
its picks. A role's run that finds its listing there (the roles of one rerun, after the first)
reads no manifest: when its store's stamp names the same picks, its cost is the listing; when
not, it copies the old store and reads only the new sessions' bodies.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from gastown_assets.atomic import atomic_open

from .cache import FORMAT, CachedSession, CacheEntry, DamagedBody, ParseCache
from .discover import SessionFile
from .redact import RemovedSecret, record_bytes
from .roles import RoleRule, tag_role

UNMATCHED_SAMPLE = 20  # cwds listed in metadata; the count covers all of them


@dataclass
class CorpusTally:
    files: int = 0
    bytes: int = 0
    lines: int = 0
    skipped: Counter = field(default_factory=Counter)
    sessions_by_role: Counter = field(default_factory=Counter)
    other_kinds: Counter = field(default_factory=Counter)  # subagent / compaction sessions
    unmatched: int = 0
    unmatched_cwds: list[str] = field(default_factory=list)
    redacted: Counter = field(default_factory=Counter)  # secrets replaced at ingest, by kind (whole corpus)

    def add_file(self, stats: dict) -> None:
        self.files += 1
        self.bytes += stats["bytes"]
        self.lines += stats["lines"]
        skipped = self.skipped
        for reason, n in stats["skipped"].items():  # not Counter.update: its Mapping check, 10^4 times
            skipped[reason] = skipped.get(reason, 0) + n
        if redacted := stats.get("redacted"):
            for kind, n in redacted.items():
                self.redacted[kind] = self.redacted.get(kind, 0) + n

    def note_unmatched(self, cwd: str) -> None:
        self.unmatched += 1
        if cwd not in self.unmatched_cwds and len(self.unmatched_cwds) < UNMATCHED_SAMPLE:
            self.unmatched_cwds.append(cwd)


Pick = tuple[SessionFile, CacheEntry, list[CachedSession]]


def corpus_picks(
    files: Iterable[SessionFile], rules: list[RoleRule], cache: ParseCache, tally: CorpusTally
) -> dict[str, list[Pick]]:
    """Per role, each file with main sessions of the role: its cache entry and those sessions (in
    order). Subagent and compaction sessions take their parent's
    role and are tallied, not trained on: they are another agent's voice."""
    parent_roles: dict[str, str | None] = {}
    by_cwd: dict[str, str | None] = {}  # tag_role is a function of the cwd (rules fixed here)
    picks: dict[str, list[Pick]] = {}
    files = list(files)
    for f, entry in zip(files, cache.entries(files)):
        tally.add_file(entry.stats)
        wanted: dict[str, list[CachedSession]] = {}
        for s in entry.sessions:
            if s.parent_session_id and s.parent_session_id in parent_roles:
                tagged = parent_roles[s.parent_session_id]
            elif s.cwd in by_cwd:
                tagged = by_cwd[s.cwd]
            else:
                tagged = by_cwd[s.cwd] = tag_role(s.cwd, rules)
            if s.kind != "main":
                tally.other_kinds[f"{tagged or 'unmatched'}:{s.kind}"] += 1
                continue
            parent_roles[s.session_id] = tagged
            if tagged is None:
                tally.note_unmatched(s.cwd)
                continue
            tally.sessions_by_role[tagged] += 1
            wanted.setdefault(tagged, []).append(s)
        for tagged, sessions in wanted.items():
            picks.setdefault(tagged, []).append((f, entry, sessions))
    return picks


def picks_key(picks: list[Pick], salt_id: str = "") -> str:
    """What the store's bytes (and its record of removed secrets) are a function of: the parser's
    format, the salt, and per picked session its file (path and content hash) and span in that
    file's body."""
    return hashlib.sha256(
        orjson.dumps(
            [
                FORMAT,
                salt_id,
                [[entry.source, entry.sha256, [(s.offset, s.length) for s in wanted]] for _, entry, wanted in picks],
            ]
        )
    ).hexdigest()


def removed_in(picks: list[Pick]) -> list[RemovedSecret]:
    """The secrets redacted from the picked sessions (their hashes and contexts), in order."""
    out: list[RemovedSecret] = []
    for _, entry, wanted in picks:
        if entry.removed:
            ids = {s.session_id for s in wanted}
            out.extend(r for r in entry.removed if r.session_id in ids)
    return out


def scan_key(files: list[SessionFile], rules: list[RoleRule], salt_id: str = "") -> str:
    """The listing (path, size, mtime of every file, in order), the rules, the format and salt."""
    h = hashlib.sha256(orjson.dumps([FORMAT, salt_id, [[r.role, list(r.cwd_patterns)] for r in rules]]))
    h.update("\n".join(f"{f.source}\t{f.size}\t{f.mtime_ns}" for f in files).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


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


def _reuse(path: Path, key: str) -> RoleStore | None:
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


SCAN = "scan.json"  # in the parse cache's folder: the last tagging's outcome (see the module doc)


def _scanned(cache: ParseCache, key: str, role: str, empty: str) -> tuple[str, CorpusTally] | None:
    try:
        scan = orjson.loads((cache.dir / SCAN).read_bytes())
        if scan["key"] != key:
            return None
        t = scan["tally"]
        tally = CorpusTally(
            t["files"],
            t["bytes"],
            t["lines"],
            Counter(t["skipped"]),
            Counter(t["sessions_by_role"]),
            Counter(t["other_kinds"]),
            t["unmatched"],
            t["unmatched_cwds"],
            Counter(t["redacted"]),
        )
        return scan["picks"].get(role, empty), tally
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        return None


def _save_scan(
    cache: ParseCache, key: str, tally: CorpusTally, everyone: dict[str, list[Pick]], keys: dict[str, str]
) -> None:
    """The tagging's outcome; per role also its picks (scan-<role>.json), so that a role whose
    store must be rewritten need not read the manifest and tag the corpus again."""
    for role, picks in everyone.items():
        with atomic_open(cache.dir / f"scan-{role}.json", durable=False) as out:
            out.write(
                orjson.dumps(
                    {
                        "key": key,
                        "picks": [
                            [
                                e.source,
                                e.sha256,
                                e.body,
                                e.body_size,
                                [(s.session_id, s.offset, s.length) for s in wanted],
                                [list(r) for r in removed_in([(f, e, wanted)])],
                            ]
                            for f, e, wanted in picks
                        ],
                    }
                )
            )
    with atomic_open(cache.dir / SCAN, durable=False) as out:
        out.write(orjson.dumps({"key": key, "tally": tally, "picks": keys}))


def _scanned_picks(cache: ParseCache, key: str, role: str, files: list[SessionFile]) -> list[Pick] | None:
    """The role's picks as the scan with this key saved them (None when it did not)."""
    try:
        scan = orjson.loads((cache.dir / f"scan-{role}.json").read_bytes())
        if scan["key"] != key:
            return None
        by_source = {f.source: f for f in files}
        picks: list[Pick] = []
        for source, sha, body, body_size, wanted, removed in scan["picks"]:
            f = by_source[source]
            entry = CacheEntry(
                source, f.size, f.mtime_ns, sha, body, body_size, {}, (), tuple(RemovedSecret(*r) for r in removed)
            )
            picks.append(
                (f, entry, [CachedSession(sid, "", "main", None, 0, offset, length) for sid, offset, length in wanted])
            )
        return picks
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _merge(into: CorpusTally, tally: CorpusTally) -> None:
    into.files += tally.files
    into.bytes += tally.bytes
    into.lines += tally.lines
    into.skipped.update(tally.skipped)
    into.sessions_by_role.update(tally.sessions_by_role)
    into.other_kinds.update(tally.other_kinds)
    into.unmatched += tally.unmatched
    into.redacted.update(tally.redacted)
    for cwd in tally.unmatched_cwds:
        if cwd not in into.unmatched_cwds and len(into.unmatched_cwds) < UNMATCHED_SAMPLE:
            into.unmatched_cwds.append(cwd)


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


def _write_store(path: Path, picks: list[Pick], key: str, cache: ParseCache) -> RoleStore:
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


def collect_role(
    files: Iterable[SessionFile],
    role: str,
    rules: list[RoleRule],
    cache: ParseCache,
    path: Path,
    tally: CorpusTally,
) -> RoleStore:
    """Write the role's sessions (from the parse cache) to `path`, atomically; not rewritten
    when the role's picks are the ones the store was written from."""
    files = list(files)
    key = scan_key(files, rules, cache.salt_id)
    empty = picks_key([], cache.salt_id)
    scanned = _scanned(cache, key, role, empty)
    if scanned is not None:
        store = _reuse(path, scanned[0])
        if (
            store is None
            and (picks := _scanned_picks(cache, key, role, files)) is not None
            and picks_key(picks, cache.salt_id) == scanned[0]
        ):
            store = _write_store(path, picks, scanned[0], cache)
            cache.save()  # a damaged body was parsed again
        if store is not None:
            cache.reused += len(files) - cache.parsed
            _merge(tally, scanned[1])
            return store
    mine = CorpusTally()
    everyone = corpus_picks(files, rules, cache, mine)
    _merge(tally, mine)
    keys = {r: picks_key(p, cache.salt_id) for r, p in everyone.items()}
    picks = everyone.get(role, [])
    store = _reuse(path, keys.get(role, empty)) or _write_store(path, picks, keys.get(role, empty), cache)
    cache.save()
    _save_scan(cache, key, mine, everyone, keys)
    return store
