"""A Session's turns as OpenAI-style chat messages, the format chat templates render.

assistant tool calls become `tool_calls` (function name + JSON-string arguments, which Axolotl's
chat_template loader parses back into a mapping); tool results become `tool` messages.
"""

from __future__ import annotations

import re
from collections import Counter

import orjson

from gastown_assets.transcripts.model import Session, Turn

# Claude Code's own notes to the model inside prompts and tool results (after every Read, with
# todo lists, file-change notices): harness boilerplate, not what the agent saw of the work.
REMINDER = re.compile(r"\s*<system-reminder>.*?</system-reminder>\s*", re.S)


def without_reminders(text: str) -> str:
    return REMINDER.sub("\n", text).strip("\n") if "<system-reminder>" in text else text


def clip(text: str, limit: int) -> str:
    """Keep head and tail of long tool output: the command's start and its verdict."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} chars cut ...]\n{text[-half:]}"


def _arguments(name: str, arguments: dict, dropped: dict[str, tuple[str, ...]]) -> str:
    left_out = dropped.get(name)
    if left_out and isinstance(arguments, dict):
        arguments = {k: v for k, v in arguments.items() if k not in left_out}
    return orjson.dumps(arguments).decode()


def _assistant(turn: Turn, dropped_arguments: dict[str, tuple[str, ...]]) -> dict:
    msg: dict = {"role": "assistant", "content": turn.text}
    if turn.tool_calls:
        msg["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": _arguments(c.name, c.arguments, dropped_arguments)},
            }
            for c in turn.tool_calls
        ]
    return msg


def session_messages(
    session: Session, max_tool_chars: int, dropped: Counter, dropped_arguments: dict[str, tuple[str, ...]] | None = None
) -> list[dict]:
    """Messages without the system prompt; tool results that answer no call are dropped, and so
    are the call arguments `dropped_arguments` names per tool."""
    messages: list[dict] = []
    open_calls: set[str] = set()
    for turn in session.turns:
        if turn.speaker == "assistant":
            messages.append(_assistant(turn, dropped_arguments or {}))
            open_calls = {c.id for c in turn.tool_calls}
        elif turn.speaker == "tool":
            if turn.tool_call_id not in open_calls:
                dropped["orphan_tool_result"] += 1
                continue
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": turn.tool_call_id,
                    "content": clip(without_reminders(turn.text), max_tool_chars),
                }
            )
        elif text := without_reminders(turn.text):
            messages.append({"role": "user", "content": text})
            open_calls = set()
    return messages
