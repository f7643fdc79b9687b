"""Pick one role's sessions out of a whole corpus, streaming, with a tally of everything else."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .discover import SessionFile
from .model import Session
from .reader import read_sessions
from .roles import RoleRule, tag_role
from .stats import ParseStats

UNMATCHED_SAMPLE = 20  # cwds listed in metadata; the count covers all of them


@dataclass
class CorpusTally:
    stats: ParseStats = field(default_factory=ParseStats)
    sessions_by_role: Counter = field(default_factory=Counter)
    other_kinds: Counter = field(default_factory=Counter)  # subagent / compaction sessions
    unmatched: int = 0
    unmatched_cwds: list[str] = field(default_factory=list)

    def note_unmatched(self, cwd: str) -> None:
        self.unmatched += 1
        if cwd not in self.unmatched_cwds and len(self.unmatched_cwds) < UNMATCHED_SAMPLE:
            self.unmatched_cwds.append(cwd)


def role_sessions(
    files: Iterable[SessionFile], role: str, rules: list[RoleRule], tally: CorpusTally
) -> Iterator[Session]:
    """Main sessions of `role`. Subagent and compaction sessions take their parent's role and
    are tallied, not trained on: they are another agent's voice."""
    parent_roles: dict[str, str | None] = {}
    for f in files:
        file_stats = ParseStats()
        for session in read_sessions(f.path, file_stats):
            tagged = _role_of(session, rules, parent_roles)
            if session.kind != "main":
                tally.other_kinds[f"{tagged or 'unmatched'}:{session.kind}"] += 1
                continue
            parent_roles[session.session_id] = tagged
            if tagged is None:
                tally.note_unmatched(session.cwd)
                continue
            tally.sessions_by_role[tagged] += 1
            if tagged == role:
                yield session
        tally.stats.merge(file_stats)


def _role_of(session: Session, rules: list[RoleRule], parents: dict[str, str | None]) -> str | None:
    if session.parent_session_id and session.parent_session_id in parents:
        return parents[session.parent_session_id]
    return tag_role(session.cwd, rules)
