"""Claude Code JSONL file -> Sessions of user/assistant/tool Turns."""

from __future__ import annotations

from collections.abc import Iterator
from os import PathLike
from pathlib import Path

from .content import assistant_turn, user_turns
from .discover import classify_path
from .jsonl import as_str, iter_records, record_type
from .model import Session
from .redact import SessionRedactor
from .sessions import SessionBuilder
from .stats import ParseStats

__all__ = ["iter_records", "read_sessions"]

SYNTHETIC_MODEL = "<synthetic>"  # Claude Code's stand-in reply for an API error


_PLAIN: SessionRedactor | None = None  # the default: redacts, records nothing


def read_sessions(
    path: str | PathLike,
    stats: ParseStats,
    *,
    include_sidechains: bool = False,
    redactor: SessionRedactor | None = None,
    redact: bool = True,
) -> Iterator[Session]:
    """One Session per sessionId (in order of first appearance); for a subagent file,
    one Session for the whole file. Inline sidechains are skipped unless asked for.

    Secrets are replaced as each session is finished, before it is yielded (by `redactor`,
    which may record what it removed; `redact=False` only to test the parser itself);
    `stats.redacted` counts them by kind."""
    global _PLAIN
    if redact and redactor is None:
        redactor = _PLAIN = _PLAIN or SessionRedactor()
    path = Path(path)
    router = _Router(path, include_sidechains)
    for record in iter_records(path, stats):
        router.route(record, stats)
    sessions = [s for s in (b.finish(stats) for b in router.builders.values()) if s is not None]
    if redact:  # all of the file's sessions at once: a value removed in one is swept from all
        redactor.sessions(sessions, stats.redacted)
    yield from sessions


class _Router:
    """Sends each record to the SessionBuilder it belongs to."""

    def __init__(self, path: Path, include_sidechains: bool):
        self.path = path
        self.kind, self.parent = classify_path(path)
        self.include_sidechains = include_sidechains
        self.builders: dict[tuple, SessionBuilder] = {}
        self._roots: dict[str, str] = {}  # sidechain uuid -> uuid of its chain's root
        self._seen_uuids: set[str] = set()
        self._last_sid = path.stem

    def route(self, record: dict, stats: ParseStats) -> None:
        kind = record_type(record)
        if kind not in ("user", "assistant"):
            stats.skipped[kind] += 1  # progress, system, summary, file-history-snapshot, ...
            return
        builder = self._builder(record, stats)
        if builder is None:
            return
        builder.note(record)
        if self._is_duplicate(record):
            stats.skipped["duplicate_uuid"] += 1
        elif kind == "user":
            _add_user(builder, record, stats)
        else:
            _add_assistant(builder, record, stats)

    def _builder(self, record: dict, stats: ParseStats) -> SessionBuilder | None:
        sid = as_str(record.get("sessionId"))
        if self.kind != "main":  # a subagent file is one session, named after the file
            return self._get(("file",), self.path.stem, self.parent or sid or None, self.kind)
        self._last_sid = sid or self._last_sid
        if record.get("isSidechain") is not True:
            return self._get(("main", self._last_sid), self._last_sid, None, "main")
        root = self._root_of(record)
        if not self.include_sidechains:
            stats.skipped["sidechain_inline"] += 1
            return None
        return self._get(("side", root), root, self._last_sid, "subagent")

    def _get(self, key: tuple, sid: str, parent: str | None, kind: str) -> SessionBuilder:
        builder = self.builders.get(key)
        if builder is None:
            session = Session(sid, str(self.path), "", [], parent_session_id=parent, kind=kind)
            builder = self.builders[key] = SessionBuilder(session)
        return builder

    def _root_of(self, record: dict) -> str:
        """Inline (1.0.x) sidechains start at a record whose parentUuid is null."""
        uuid = as_str(record.get("uuid"))
        root = self._roots.get(as_str(record.get("parentUuid"))) or uuid or "sidechain"
        if uuid:
            self._roots[uuid] = root
        return root

    def _is_duplicate(self, record: dict) -> bool:
        uuid = as_str(record.get("uuid"))
        if not uuid:
            return False
        if uuid in self._seen_uuids:
            return True
        self._seen_uuids.add(uuid)
        return False


def _add_user(builder: SessionBuilder, record: dict, stats: ParseStats) -> None:
    message = record.get("message")
    if not isinstance(message, dict):
        stats.skipped["bad_message"] += 1
    elif record.get("isMeta") is True:  # skill bodies, command caveats: injected, not typed
        stats.skipped["meta"] += 1
    else:
        # An isCompactSummary record is kept: after compaction it is all the agent knows.
        builder.add_user(user_turns(message.get("content"), stats))


def _add_assistant(builder: SessionBuilder, record: dict, stats: ParseStats) -> None:
    message = record.get("message")
    if not isinstance(message, dict):
        stats.skipped["bad_message"] += 1
    elif message.get("model") == SYNTHETIC_MODEL or record.get("isApiErrorMessage") is True:
        stats.skipped["synthetic_api_error"] += 1
    else:
        message_id = as_str(message.get("id")) or as_str(record.get("requestId")) or None
        builder.add_assistant(message_id, assistant_turn(message.get("content"), stats))
