"""Claude Code transcripts -> Sessions of Turns, tagged with Gas Town roles (pure Python)."""

from .discover import SessionFile, find_session_files, sessions_roots_from_env
from .model import Session, ToolCall, Turn
from .reader import iter_records, read_sessions
from .roles import RoleRule, tag_role
from .stats import ParseStats

__all__ = [
    "ParseStats",
    "RoleRule",
    "Session",
    "SessionFile",
    "ToolCall",
    "Turn",
    "find_session_files",
    "iter_records",
    "read_sessions",
    "sessions_roots_from_env",
    "tag_role",
]
