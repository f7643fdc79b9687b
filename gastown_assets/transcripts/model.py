"""Plain data types for parsed Claude Code sessions (no behaviour, cheap to build)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: dict  # the tool_use "input"; base64 image payloads replaced by "[image]"


@dataclass(slots=True)
class Turn:
    speaker: str  # "user" | "assistant" | "tool"
    text: str = ""  # assistant: text blocks joined with "\n\n" (thinking not included)
    tool_calls: list[ToolCall] = field(default_factory=list)  # assistant only
    tool_call_id: str | None = None  # tool only: the tool_use id it answers
    is_error: bool = False  # tool only
    thinking: str = ""  # assistant only; kept apart so it is not trained on by default


@dataclass(slots=True)
class Session:
    session_id: str
    path: str  # the file it came from
    cwd: str  # cwd of the session's first record that has one ("" if none)
    turns: list[Turn]
    parent_session_id: str | None = None  # subagent files and inline sidechains
    kind: str = "main"  # "main" | "subagent" | "compaction"
    started_at: str = ""  # first timestamp seen (file order)
    version: str = ""  # Claude Code version of the first record that has one
