"""Embedded sample data: synthetic Gas Town Claude Code transcripts (see README.md)."""

from pathlib import Path

SESSIONS_DIR = Path(__file__).parent / "sessions"
PLANTED_SECRETS = Path(__file__).parent / "planted_secrets.json"

__all__ = ["PLANTED_SECRETS", "SESSIONS_DIR"]
