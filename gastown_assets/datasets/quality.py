"""Rows not worth training on, each with a reason to count (pure Python, no Dagster).

`quality_issue(messages)` is None for a row worth training on, else one reason, checked in this
order (the most specific first):

- "error_only": no tool result of the row succeeded and the row holds at least one failure
  (a tool result that reads as an error, or Claude Code's synthetic "API Error" reply); a row
  without tool results qualifies only when its assistant messages are all such failure replies
  (or content-free). A row with one successful tool result is never error_only.
- "boilerplate_only": every assistant message is content-free boilerplate without tool calls.
- "too_short": assistant text + tool-call arguments total < min_assistant_chars characters.

Rows carry no `is_error` flag (rows.py keeps only the tool text), so errors are read from the
text, conservatively: start-anchored markers for what Claude Code itself writes, and only a few
unmistakable markers anywhere in the output.
"""

from __future__ import annotations

import re

# Tool-result starts (regex, case-insensitive) Claude Code writes for a failed call; `error\b` spares "errors.go".
TOOL_ERROR_PREFIXES = (
    r"error\b",
    r"<tool_use_error>",
    r"exit code\s+[1-9]",
    r"api error",
    r"\[request interrupted by user",
    r"the user doesn't want to proceed with this tool use",
)

# Substrings anywhere in a tool result (case-insensitive) that only a failed command prints.
TOOL_ERROR_MARKERS = (
    "traceback (most recent call last)",
    "command not found",
    "exit code 1",
)

# Assistant-message starts (case-insensitive) of Claude Code's stand-in reply when the model call failed.
ASSISTANT_FAILURE_PREFIXES = (
    "api error",
    "prompt is too long",
    "credit balance is too low",
    "invalid api key",
    "request timed out",
)

# Whole assistant messages (case-insensitive, trailing ".!" stripped) with nothing to learn from.
BOILERPLATE = (
    "no response requested",
    "(no content)",
    "continuing",
    "continue",
    "i'll continue",
    "let me continue",
    "continuing where i left off",
    "done",
    "ok",
    "okay",
    "understood",
    "got it",
    "acknowledged",
    "[request interrupted by user]",
    "[request interrupted by user for tool use]",
)

_TOOL_ERROR_START = re.compile("|".join(TOOL_ERROR_PREFIXES), re.IGNORECASE)
_BOILERPLATE = frozenset(BOILERPLATE)
_HEAD = 200  # a marker that starts a result is within its first characters


def content_text(content) -> str:
    """A message's content as text: a string, or a list's text parts joined by spaces."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def is_tool_error(content) -> bool:
    """Whether a tool result's text reads as a failed call."""
    text = content_text(content).lstrip()
    if _TOOL_ERROR_START.match(text[:_HEAD]):
        return True
    lowered = text.lower()
    return any(marker in lowered for marker in TOOL_ERROR_MARKERS)


def is_assistant_failure(content) -> bool:
    """Whether an assistant message is Claude Code's report of a failed model call."""
    return content_text(content).lstrip()[:_HEAD].lower().startswith(ASSISTANT_FAILURE_PREFIXES)


def is_boilerplate(message: dict) -> bool:
    """An assistant message without tool calls whose text is empty or content-free."""
    if message.get("tool_calls"):
        return False
    text = " ".join(content_text(message.get("content")).split()).lower().rstrip(".! ")
    return not text or text in _BOILERPLATE


def _error_only(messages: list[dict]) -> bool:
    tool_results = [m for m in messages if m.get("role") == "tool"]
    errors = [is_tool_error(m.get("content")) for m in tool_results]
    if not all(errors):
        return False  # one successful tool result keeps the row
    assistant = [m for m in messages if m.get("role") == "assistant"]
    failures = [is_assistant_failure(m.get("content")) for m in assistant]
    if not errors and not any(failures):
        return False  # nothing failed
    if tool_results:
        return True
    # no tool results: only failure reports (or empty filler) from the assistant
    return all(f or is_boilerplate(m) for f, m in zip(failures, assistant))


def _assistant_chars(messages: list[dict]) -> int:
    total = 0
    for m in messages:
        if m.get("role") != "assistant":
            continue
        total += len(content_text(m.get("content")).strip())
        for call in m.get("tool_calls") or ():
            args = (call.get("function") or {}).get("arguments")
            total += len(args.strip()) if isinstance(args, str) else len(str(args or ""))
    return total


def quality_issue(messages: list[dict], min_assistant_chars: int = 20) -> str | None:
    """None when the row is worth training on, else "error_only", "boilerplate_only" or
    "too_short" (see the module docstring)."""
    if _error_only(messages):
        return "error_only"
    assistant = [m for m in messages if m.get("role") == "assistant"]
    if assistant and all(is_boilerplate(m) for m in assistant):
        return "boilerplate_only"
    if _assistant_chars(messages) < min_assistant_chars:
        return "too_short"
    return None
