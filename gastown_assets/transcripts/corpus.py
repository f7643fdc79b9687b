"""Pick one role's sessions out of a whole corpus, streaming, with a tally of everything else.

Every role's run tags the whole corpus from the parse cache's manifest (a role's sessions are
known only once every session is tagged), then writes its store only when what it picked
changed: a stamp beside the store names the picked sessions (source file, its content hash,
span in the body), so a rerun where nothing of the role changed reads no body at all (the store: role_store.py).

The tagging's outcome is itself cached, keyed by the listing (every file's path, size and
mtime), the role rules and the parser's format: the tally, every role's picks key, and per role
its picks. A role's run that finds its listing there (the roles of one rerun, after the first)
reads no manifest: when its store's stamp names the same picks, its cost is the listing; when
not, it copies the old store and reads only the new sessions' bodies.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from gastown_assets.atomic import atomic_open

from .cache import FORMAT, CachedSession, CacheEntry, ParseCache
from .discover import SessionFile
from .redact import RemovedSecret
from .role_store import Pick, RoleStore, removed_in, reuse, write_store
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


def scan_key(files: list[SessionFile], rules: list[RoleRule], salt_id: str = "") -> str:
    """The listing (path, size, mtime of every file, in order), the rules, the format and salt."""
    h = hashlib.sha256(orjson.dumps([FORMAT, salt_id, [[r.role, list(r.cwd_patterns)] for r in rules]]))
    h.update("\n".join(f"{f.source}\t{f.size}\t{f.mtime_ns}" for f in files).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


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
        store = reuse(path, scanned[0])
        if (
            store is None
            and (picks := _scanned_picks(cache, key, role, files)) is not None
            and picks_key(picks, cache.salt_id) == scanned[0]
        ):
            store = write_store(path, picks, scanned[0], cache)
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
    store = reuse(path, keys.get(role, empty)) or write_store(path, picks, keys.get(role, empty), cache)
    cache.save()
    _save_scan(cache, key, mine, everyone, keys)
    return store
