"""Find Claude Code transcript files under one or more roots."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SESSIONS_ROOT = "~/.claude/projects"


@dataclass(frozen=True)
class SessionFile:
    path: Path
    size: int
    mtime_ns: int
    parent_session_id: str | None
    kind: str  # "main" | "subagent" | "compaction"


def sessions_roots_from_env(value: str | None) -> list[Path]:
    """GASTOWN_SESSIONS_DIR: os.pathsep-separated roots; ~/.claude/projects when unset."""
    parts = [p.strip() for p in (value or "").split(os.pathsep) if p.strip()]
    return [Path(p).expanduser() for p in parts or [DEFAULT_SESSIONS_ROOT]]


def find_session_files(roots: Iterable[Path | str]) -> Iterator[SessionFile]:
    """Every *.jsonl under the roots, sorted by path string per root (so `<session>.jsonl`
    comes before `<session>/subagents/...`); missing roots are skipped and a
    file reached through two roots or two symlinks is yielded once."""
    seen: set[tuple[int, int]] = set()
    for root in roots:
        for path in sorted(_walk(Path(root).expanduser()), key=str):
            try:
                st = path.stat()
            except OSError:  # vanished or dangling symlink
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            kind, parent = classify_path(path)
            yield SessionFile(path, st.st_size, st.st_mtime_ns, parent, kind)


def classify_path(path: Path | str) -> tuple[str, str | None]:
    """(kind, parent_session_id) from Claude Code's layout:
    <session>/subagents/agent-<id>.jsonl (2.1.x), agent-acompact-* is the compaction run.
    A project-level agent-*.jsonl (2.0.x) is a subagent whose parent is only in its records."""
    path = Path(path)
    if not path.name.startswith("agent-"):
        return "main", None
    kind = "compaction" if path.name.startswith("agent-acompact-") else "subagent"
    if path.parent.name == "subagents":
        return kind, path.parent.parent.name or None
    return kind, None


def _walk(root: Path) -> Iterator[Path]:
    if root.is_file():
        if root.suffix == ".jsonl":
            yield root
        return
    visited: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        try:
            st = os.stat(dirpath)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in visited:  # a symlink loop back into the tree
            dirnames.clear()
            continue
        visited.add((st.st_dev, st.st_ino))
        for name in filenames:
            if name.endswith(".jsonl"):
                yield Path(dirpath, name)
