"""Find Claude Code transcript files under one or more roots."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

DEFAULT_SESSIONS_ROOT = "~/.claude/projects"


class SessionFile(NamedTuple):
    """A tuple (every role's run lists 10^4 of them), its path a string (a Path on request)."""

    source: str
    size: int
    mtime_ns: int
    parent_session_id: str | None
    kind: str  # "main" | "subagent" | "compaction"

    @property
    def path(self) -> Path:
        return Path(self.source)


def sessions_roots_from_env(value: str | None) -> list[Path]:
    """GASTOWN_SESSIONS_DIR: os.pathsep-separated roots; ~/.claude/projects when unset."""
    parts = [p.strip() for p in (value or "").split(os.pathsep) if p.strip()]
    return [Path(p).expanduser() for p in parts or [DEFAULT_SESSIONS_ROOT]]


def find_session_files(roots: Iterable[Path | str]) -> Iterator[SessionFile]:
    """Every *.jsonl under the roots, sorted by path string per root (so `<session>.jsonl`
    comes before `<session>/subagents/...`); missing roots are skipped and a
    file reached through two roots or two symlinks is yielded once."""
    seen: set[tuple[int, int]] = set()
    new = tuple.__new__
    for root in roots:
        for path, st in sorted(_walk(Path(root).expanduser())):
            identity = (st.st_dev, st.st_ino)
            if identity in seen:
                continue
            seen.add(identity)
            kind, parent = _classify(path) if "agent-" in path else ("main", None)
            yield new(SessionFile, (path, st.st_size, st.st_mtime_ns, parent, kind))


def classify_path(path: Path | str) -> tuple[str, str | None]:
    """(kind, parent_session_id) from Claude Code's layout:
    <session>/subagents/agent-<id>.jsonl (2.1.x), agent-acompact-* is the compaction run.
    A project-level agent-*.jsonl (2.0.x) is a subagent whose parent is only in its records."""
    return _classify(os.fspath(path))


def _classify(path: str) -> tuple[str, str | None]:
    """classify_path on a path string (the same split into parts as pathlib's)."""
    head, name = os.path.split(path)
    if not name.startswith("agent-"):
        return "main", None
    kind = "compaction" if name.startswith("agent-acompact-") else "subagent"
    head, parent = os.path.split(head)
    if parent == "subagents":
        return kind, os.path.basename(head) or None
    return kind, None


def _walk(root: Path) -> list[tuple[str, os.stat_result]]:
    """(path, stat) of the *.jsonl files under `root`, symlinks followed; paths are strings
    spelled as str(Path) spells them. One scandir a folder and one stat a file: a symlink loop
    is cut where it closes, as every cycle passes a symlink and each symlinked folder's target
    is entered once (a target also reached directly is read twice, its files kept once)."""
    found: list[tuple[str, os.stat_result]] = []
    if root.is_file():
        if root.suffix == ".jsonl":
            found.append((str(root), root.stat()))
        return found
    try:
        st = root.stat()
    except OSError:
        return found
    entered = {(st.st_dev, st.st_ino)}
    stack = [str(root)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:  # unreadable or vanished
            continue
        for entry in entries:
            try:
                if entry.is_dir():
                    if entry.is_symlink():
                        st = entry.stat()
                        if (st.st_dev, st.st_ino) in entered:
                            continue
                        entered.add((st.st_dev, st.st_ino))
                    stack.append(entry.path)
                elif entry.name.endswith(".jsonl"):
                    found.append((entry.path, entry.stat()))
            except OSError:  # a dangling symlink, or gone since the scandir
                continue
    return found
