"""Finding transcript files under GASTOWN_SESSIONS_DIR roots."""

from __future__ import annotations

import os
from pathlib import Path

from gastown_assets.transcripts import find_session_files, sessions_roots_from_env

SID = "11111111-2222-3333-4444-555555555555"


def touch(path: Path, body: bytes = b"{}\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path


def make_projects(root: Path) -> None:
    touch(root / "-home-u-gt-mayor" / f"{SID}.jsonl", b"{}\n{}\n")
    touch(root / "-home-u-gt-mayor" / SID / "subagents" / "agent-a1.jsonl")
    touch(root / "-home-u-gt-mayor" / SID / "subagents" / "agent-acompact-f0.jsonl")
    touch(root / "-home-u-gt-my-rig-polecats-nux" / "bbbb.jsonl")
    touch(root / "-home-u-gt-my-rig-polecats-nux" / "notes.txt")


def test_finds_main_subagent_and_compaction_files_in_path_order(tmp_path):
    make_projects(tmp_path)
    found = list(find_session_files([tmp_path]))
    rel = [f.path.relative_to(tmp_path).as_posix() for f in found]
    assert rel == [
        f"-home-u-gt-mayor/{SID}.jsonl",
        f"-home-u-gt-mayor/{SID}/subagents/agent-a1.jsonl",
        f"-home-u-gt-mayor/{SID}/subagents/agent-acompact-f0.jsonl",
        "-home-u-gt-my-rig-polecats-nux/bbbb.jsonl",
    ]
    assert [(f.kind, f.parent_session_id) for f in found[:3]] == [
        ("main", None),
        ("subagent", SID),
        ("compaction", SID),
    ]
    assert found[0].size == 6 and found[0].mtime_ns > 0


def test_a_root_can_be_one_project_folder_and_missing_roots_are_skipped(tmp_path):
    make_projects(tmp_path)
    roots = [tmp_path / "nope", tmp_path / "-home-u-gt-my-rig-polecats-nux"]
    found = list(find_session_files(roots))
    assert [f.path.name for f in found] == ["bbbb.jsonl"]


def test_overlapping_roots_and_symlink_loops_yield_each_file_once(tmp_path):
    make_projects(tmp_path)
    (tmp_path / "-home-u-gt-mayor" / "loop").symlink_to(tmp_path, target_is_directory=True)
    found = list(find_session_files([tmp_path, tmp_path / "-home-u-gt-mayor"]))
    assert len(found) == 4
    assert len({f.path.resolve() for f in found}) == 4


def test_sessions_roots_from_env_splits_and_expands(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    value = os.pathsep.join(["~/a", "", "/srv/claude/projects"])
    assert sessions_roots_from_env(value) == [tmp_path / "a", Path("/srv/claude/projects")]
    default = [tmp_path / ".claude" / "projects"]
    assert sessions_roots_from_env(None) == default
    assert sessions_roots_from_env("") == default
