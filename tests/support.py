"""Paths shared by tests (the fixtures in ../shared are read in place, never copied)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "configs"
SHARED_SESSIONS = REPO.parent / "shared" / "fixtures" / "claude_sessions"
