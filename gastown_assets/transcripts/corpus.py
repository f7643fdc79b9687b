"""Pick one role's sessions out of a whole corpus, streaming, with a tally of everything else."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .cache import CachedSession, ParseCache
from .discover import SessionFile
from .roles import RoleRule, tag_role
from .store import write_session_lines

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

    def add_file(self, stats: dict) -> None:
        self.files += 1
        self.bytes += stats["bytes"]
        self.lines += stats["lines"]
        self.skipped.update(stats["skipped"])

    def note_unmatched(self, cwd: str) -> None:
        self.unmatched += 1
        if cwd not in self.unmatched_cwds and len(self.unmatched_cwds) < UNMATCHED_SAMPLE:
            self.unmatched_cwds.append(cwd)


def role_session_lines(
    files: Iterable[SessionFile], role: str, rules: list[RoleRule], cache: ParseCache, tally: CorpusTally
) -> Iterator[bytes]:
    """Stored lines of the main sessions of `role`. Subagent and compaction sessions take their
    parent's role and are tallied, not trained on: they are another agent's voice."""
    parent_roles: dict[str, str | None] = {}
    for f in files:
        entry = cache.entry(f)
        tally.add_file(entry.stats)
        wanted: list[CachedSession] = []
        for s in entry.sessions:
            tagged = _role_of(s, rules, parent_roles)
            if s.kind != "main":
                tally.other_kinds[f"{tagged or 'unmatched'}:{s.kind}"] += 1
                continue
            parent_roles[s.session_id] = tagged
            if tagged is None:
                tally.note_unmatched(s.cwd)
                continue
            tally.sessions_by_role[tagged] += 1
            if tagged == role:
                wanted.append(s)
        yield from cache.session_lines(entry, wanted)


def _role_of(s: CachedSession, rules: list[RoleRule], parents: dict[str, str | None]) -> str | None:
    if s.parent_session_id and s.parent_session_id in parents:
        return parents[s.parent_session_id]
    return tag_role(s.cwd, rules)


@dataclass(frozen=True)
class RoleStore:
    path: str
    sessions: int
    digest: str


def collect_role(
    files: Iterable[SessionFile], role: str, rules: list[RoleRule], cache: ParseCache, path: Path,
    tally: CorpusTally,
) -> RoleStore:
    """Write the role's sessions (from the parse cache) to `path`, atomically."""
    count, digest = write_session_lines(path, role_session_lines(files, role, rules, cache, tally))
    cache.save()
    return RoleStore(str(path), count, digest)
