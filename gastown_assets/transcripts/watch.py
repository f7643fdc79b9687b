"""What arrived since the last look: new or changed main sessions per role, for retraining.

State is small enough for a sensor cursor: a modification-time watermark, and per role the
sessions seen since that role last triggered (bounded by the trigger threshold). A file counts
when its mtime passes the watermark, so a session that grows counts again as changed but only
once per trigger; files copied with their old mtime kept (`cp -p`, `rsync -t`) are not seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from gastown_assets.transcripts.discover import find_session_files
from gastown_assets.transcripts.roles import RoleRule, tag_role

CWD_SCAN_LINES = 50  # the first record with a cwd is near the top of every Claude Code file


@dataclass
class RolePending:
    sessions: list[str] = field(default_factory=list)  # session files since the last trigger
    bytes: int = 0

    def add(self, path: str, size: int) -> None:
        if path not in self.sessions:
            self.sessions.append(path)
        self.bytes += size

    def digest(self) -> str:
        """Names exactly this batch of new data: the run_key of the run it triggers."""
        return hashlib.sha256("\n".join(sorted(self.sessions)).encode() + str(self.bytes).encode()).hexdigest()[:16]


@dataclass
class WatchState:
    watermark_ns: int = 0
    pending: dict[str, RolePending] = field(default_factory=dict)
    config_digests: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return orjson.dumps(
            {
                "watermark_ns": self.watermark_ns,
                "config_digests": self.config_digests,
                "pending": {
                    r: {"sessions": p.sessions, "bytes": p.bytes} for r, p in self.pending.items() if p.sessions
                },
            }
        ).decode()

    @classmethod
    def from_json(cls, raw: str | None) -> WatchState | None:
        if not raw:
            return None
        data = orjson.loads(raw)
        pending = {r: RolePending(p["sessions"], p["bytes"]) for r, p in data.get("pending", {}).items()}
        return cls(data["watermark_ns"], pending, data.get("config_digests", {}))


def first_cwd(path: Path) -> str:
    """The cwd of the first record that has one; '' when none near the top or unreadable."""
    try:
        with path.open("rb") as f:
            for n, line in enumerate(f):
                if n >= CWD_SCAN_LINES:
                    break
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("cwd"), str):
                    return record["cwd"]
    except OSError:
        pass
    return ""


def latest_mtime_ns(roots: Iterable[Path]) -> int:
    return max((f.mtime_ns for f in find_session_files(roots)), default=0)


def scan(roots: Iterable[Path], rules: list[RoleRule], state: WatchState) -> WatchState:
    """Add every main session file changed since the watermark to its role's pending batch."""
    watermark = state.watermark_ns
    for f in find_session_files(roots):
        if f.mtime_ns <= state.watermark_ns or f.kind != "main":
            watermark = max(watermark, f.mtime_ns)
            continue
        watermark = max(watermark, f.mtime_ns)
        role = tag_role(first_cwd(f.path), rules)
        if role:
            state.pending.setdefault(role, RolePending()).add(f.source, f.size)
    state.watermark_ns = watermark
    return state


def due(pending: RolePending, min_sessions: int, min_bytes: int) -> bool:
    return len(pending.sessions) >= min_sessions or pending.bytes >= min_bytes


def retrain_requests(
    state: WatchState, thresholds: dict[str, tuple[int, int]], digests: dict[str, str]
) -> list[tuple[str, str, str]]:
    """(role, run key, reason) for each role whose pending sessions passed its thresholds
    (min sessions, min bytes) or whose config digest changed; clears what it requests and
    records the digests in `state`."""
    requests = []
    for role, (min_sessions, min_bytes) in thresholds.items():
        reasons, keys = [], []
        pending = state.pending.get(role)
        if pending and due(pending, min_sessions, min_bytes):
            reasons.append(f"{len(pending.sessions)} new or changed sessions ({pending.bytes} bytes)")
            keys.append(f"data-{pending.digest()}")
            del state.pending[role]
        if state.config_digests.get(role) not in (None, digests[role]):
            reasons.append(f"{role}.yml changed")
            keys.append(f"config-{digests[role]}")
        if reasons:
            requests.append((role, f"{role}:{'+'.join(keys)}", "; ".join(reasons)))
    state.config_digests = dict(digests)
    return requests
