"""Accumulates one session's records into Turns."""

from __future__ import annotations

from .jsonl import as_str
from .model import Session, Turn
from .stats import ParseStats


class SessionBuilder:
    """Turns for one Session, merging the lines of a streamed assistant message."""

    __slots__ = ("_open_at", "_open_id", "session")

    def __init__(self, session: Session):
        self.session = session
        self._open_id: str | None = None  # message id of the assistant turn still open
        self._open_at = -1

    def note(self, record: dict) -> None:
        """Session metadata comes from the first record that carries each field."""
        s = self.session
        s.cwd = s.cwd or as_str(record.get("cwd"))
        s.started_at = s.started_at or as_str(record.get("timestamp"))
        s.version = s.version or as_str(record.get("version"))

    def add_user(self, turns: list[Turn]) -> None:
        for turn in turns:
            self.session.turns.append(turn)
            if turn.speaker != "tool":
                self._open_id = None  # a real user turn ends the assistant's message

    def add_assistant(self, message_id: str | None, part: Turn) -> None:
        # Claude Code writes one line per content block; with parallel tool calls the
        # tool results land between the lines. Tool turns keep the message open, so the
        # result is assistant(all tool calls) followed by the tool turns.
        if message_id and message_id == self._open_id:
            _extend(self.session.turns[self._open_at], part)
            return
        self.session.turns.append(part)
        self._open_id, self._open_at = message_id, len(self.session.turns) - 1

    def finish(self, stats: ParseStats) -> Session | None:
        turns = [t for t in self.session.turns if not _is_empty(t)]
        if dropped := len(self.session.turns) - len(turns):
            stats.skipped["empty_message"] += dropped
        if not turns:
            stats.skipped["empty_session"] += 1
            return None
        self.session.turns = turns
        stats.sessions += 1
        stats.turns += len(turns)
        return self.session


def _extend(turn: Turn, part: Turn) -> None:
    turn.text = _join(turn.text, part.text)
    turn.thinking = _join(turn.thinking, part.thinking)
    turn.tool_calls.extend(part.tool_calls)


def _join(left: str, right: str) -> str:
    return f"{left}\n\n{right}" if left and right else left or right


def _is_empty(turn: Turn) -> bool:
    # A tool turn answers a tool call even with no output; dropping it would orphan the call.
    if turn.speaker == "tool":
        return False
    return not turn.text.strip() and not turn.tool_calls
