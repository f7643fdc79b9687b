"""The transcripts stage: every session file under the roots, parsed once (the parse cache) and
redacted at ingest; the role's sessions written to transcripts/<role>/ and published."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gastown_assets.meta import Json, PathRef
from gastown_assets.storage import DataStore

from .cache import ParseCache
from .corpus import CorpusTally, collect_role
from .discover import find_session_files
from .role_store import record_path
from .roles import RoleRule


class NoTranscripts(ValueError):
    """No *.jsonl file under the roots: nothing can be collected for any role."""


class NoRoleSessions(ValueError):
    """Files were found but no session matched the role's cwd patterns."""

    def __init__(self, message: str, metadata: dict):
        super().__init__(message)
        self.metadata = metadata


@dataclass(frozen=True)
class Collected:
    role: str
    path: str  # the published sessions.jsonl (versioned on an object store)
    sessions: int
    digest: str
    files: int
    parsed: int  # files parsed this run; the rest came from the cache
    reused: int
    removed: int  # secrets removed from this role's sessions
    tally: CorpusTally
    roots: tuple[Path, ...]

    def log_lines(self) -> list[str]:
        return [
            f"{self.files} transcript files under {', '.join(map(str, self.roots))}",
            f"parsed {self.parsed} new or changed files, reused {self.reused} from the cache",
        ]

    def metadata(self) -> dict:
        t = self.tally
        return {
            "sessions": self.sessions,
            "path": PathRef(self.path),
            "files_scanned": self.files,
            "files_parsed": self.parsed,
            "files_from_cache": self.reused,
            "bytes_scanned": t.bytes,
            "sessions_by_role": Json(dict(t.sessions_by_role)),
            "unmatched_sessions": t.unmatched,
            "unmatched_cwds": Json(t.unmatched_cwds),
            "subagent_sessions": Json(dict(t.other_kinds)),
            "skipped": Json(dict(t.skipped)),
            "secrets_redacted": self.removed,
            "redacted_by_type_all_roles": Json(dict(t.redacted)),
            "sessions_roots": Json([str(p) for p in self.roots]),
        }


def collect(role: str, roots: Sequence[Path], rules: list[RoleRule], store: DataStore, role_file: Path) -> Collected:
    """The role's sessions from every file under `roots`, tagged by `rules` (`role_file` is
    named when none matches). On an object store: transcripts/<role>/<version>/sessions.jsonl."""
    files = list(find_session_files(roots))
    where = ", ".join(map(str, roots))
    if not files:
        raise NoTranscripts(f"GASTOWN_SESSIONS_DIR: no *.jsonl transcript files under {where}")
    tally, cache = CorpusTally(), ParseCache(store.local / "transcripts" / "cache")
    path = store.local / "transcripts" / role / "sessions.jsonl"
    written = collect_role(files, role, rules, cache, path, tally)
    if written.sessions == 0:  # nothing to train on: stop here, not three assets later
        raise NoRoleSessions(
            f"{role_file}: role.sessions.cwd_patterns: no session under {where} matched; "
            f"sessions per role: {dict(tally.sessions_by_role)}, unmatched: {tally.unmatched}",
            {"unmatched_cwds": Json(tally.unmatched_cwds)},
        )
    names = [path.name, record_path(path).name]
    uri = store.publish(f"transcripts/{role}", written.digest[:16], names)[path.name]
    return Collected(
        role,
        uri,
        written.sessions,
        written.digest,
        len(files),
        cache.parsed,
        cache.reused,
        written.removed,
        tally,
        tuple(roots),
    )
