"""Record builder for synthetic Claude Code 2.1.x transcripts.

A :class:`Session` appends JSONL records the way Claude Code writes them: a
``parentUuid``/``uuid`` chain, one assistant API message split over several
lines that share ``message.id`` and ``requestId``, tool results as user
records with ``toolUseResult``, and the surrounding noise (progress, system,
file-history-snapshot, summary) real files carry.

:class:`Convo` sits on top and turns "the agent says X and runs tool Y" into
records. Everything random comes from the :class:`Rand` passed in, so output
is a pure function of the seed.
"""

from __future__ import annotations

import random
import string
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

B62 = string.ascii_letters + string.digits
TOKEN_CHARS = string.ascii_letters + string.digits + "_-"
LOWER36 = string.ascii_lowercase + string.digits


class Rand(random.Random):
    """``random.Random`` plus the id shapes Claude Code and Gas Town use."""

    def uuid4(self) -> str:
        return str(uuid.UUID(int=self.getrandbits(128), version=4))

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.choice(alphabet) for _ in range(n))

    def hex(self, n: int) -> str:
        return self.chars("0123456789abcdef", n)

    def msg_id(self) -> str:
        return "msg_01" + self.chars(B62, 22)

    def req_id(self) -> str:
        return "req_011C" + self.chars(B62, 20)

    def toolu_id(self) -> str:
        return "toolu_01" + self.chars(B62, 22)

    def signature(self) -> str:
        return "Eu" + self.chars(B62 + "+/", 62) + "=="

    def chance(self, p: float) -> bool:
        return self.random() < p


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


@dataclass
class Tool:
    """One tool call: what the assistant sends and what comes back."""

    name: str
    input: dict[str, Any]
    content: Any  # tool_result content (str or list of blocks)
    tur: Any  # toolUseResult
    is_error: bool = False
    progress: list[str] = field(default_factory=list)  # bash_progress snapshots
    took_ms: tuple[int, int] = (150, 2500)
    subagent: Any = None  # callable(parent_session, tool_use_id) for Task


@dataclass
class Session:
    rnd: Rand
    cwd: str
    session_id: str
    version: str
    git_branch: str
    start: datetime
    model: str = "claude-sonnet-4-5-20250929"
    slug: str | None = None
    agent_id: str | None = None  # set for subagent transcripts

    def __post_init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.last_uuid: str | None = None
        self.clock = self.start
        self.edited: dict[str, int] = {}  # file path -> backup version, for snapshots
        self.subagents: list[Session] = []
        self.slug_on = False
        self.cache_read = self.rnd.randint(14000, 19000)

    # -- plumbing ---------------------------------------------------------
    def tick(self, lo_ms: int, hi_ms: int) -> str:
        self.clock += timedelta(milliseconds=self.rnd.randint(lo_ms, hi_ms))
        return iso(self.clock)

    def _envelope(self, type_: str) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "parentUuid": self.last_uuid,
            "isSidechain": self.agent_id is not None,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.session_id,
            "version": self.version,
            "gitBranch": self.git_branch,
        }
        if self.agent_id is not None:
            rec["agentId"] = self.agent_id
        if self.slug and self.slug_on:
            rec["slug"] = self.slug
        rec["type"] = type_
        return rec

    def _push(self, rec: dict[str, Any], uid: str | None = None) -> str:
        uid = uid or self.rnd.uuid4()
        rec["uuid"] = uid
        self.records.append(rec)
        self.last_uuid = uid
        return uid

    def _usage(self, out_tokens: int) -> dict[str, Any]:
        created = self.rnd.randint(80, 2400)
        usage = {
            "input_tokens": self.rnd.randint(1, 9),
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": self.cache_read,
            "output_tokens": out_tokens,
        }
        self.cache_read += created
        return usage

    # -- records ----------------------------------------------------------
    def snapshot(self, message_id: str, at: str | None = None) -> None:
        tracked = {
            path: {
                "backupFileName": f"{self.rnd.hex(16)}@v{v}",
                "version": v,
                "backupTime": iso(self.clock),
            }
            for path, v in self.edited.items()
        }
        self.records.append(
            {
                "type": "file-history-snapshot",
                "messageId": message_id,
                "snapshot": {
                    "messageId": message_id,
                    "trackedFileBackups": tracked,
                    "timestamp": at or iso(self.clock),
                },
                "isSnapshotUpdate": False,
            }
        )

    def hook_progress(self, event: str, name: str, command: str, tool_use_id: str | None = None) -> None:
        tid = tool_use_id or self.rnd.uuid4()
        rec = self._envelope("progress")
        rec["data"] = {"type": "hook_progress", "hookEvent": event, "hookName": name, "command": command}
        rec["parentToolUseID"] = tid
        rec["toolUseID"] = tid
        rec["timestamp"] = self.tick(20, 60)
        self._push(rec)

    def user_prompt(self, text: str, uid: str | None = None) -> str:
        rec = self._envelope("user")
        rec["message"] = {"role": "user", "content": text}
        rec["timestamp"] = self.tick(900, 6000)
        if self.agent_id is None:
            if self.version >= "2.1.37":
                rec["thinkingMetadata"] = {"maxThinkingTokens": 31999}
            rec["todos"] = []
            rec["permissionMode"] = "bypassPermissions"
        uid = self._push(rec, uid)
        self.slug_on = True
        return uid

    def assistant(self, blocks: list[dict[str, Any]], final_stop: str | None = None) -> list[str]:
        """One API message, one line per content block (as Claude Code streams it)."""
        mid, rid = self.rnd.msg_id(), self.rnd.req_id()
        usage = self._usage(self.rnd.randint(12, 420))
        uids = []
        for i, block in enumerate(blocks):
            last = i == len(blocks) - 1
            rec = self._envelope("assistant")
            del rec["type"]
            rec["message"] = {
                "model": self.model,
                "id": mid,
                "type": "message",
                "role": "assistant",
                "content": [block],
                "stop_reason": final_stop if last else None,
                "stop_sequence": None,
                "usage": usage,
            }
            rec["requestId"] = rid
            rec["type"] = "assistant"
            rec["timestamp"] = self.tick(1200, 5200) if i == 0 else self.tick(150, 1800)
            uids.append(self._push(rec))
        return uids

    def tool_result(self, tool: Tool, tool_use_id: str, source_uuid: str) -> None:
        for i, snap in enumerate(tool.progress):
            rec = self._envelope("progress")
            rec["data"] = {
                "type": "bash_progress",
                "output": snap.splitlines()[-1] if snap else "",
                "fullOutput": snap,
                "elapsedTimeSeconds": 2 * (i + 1),
                "totalLines": snap.count("\n") + 1,
            }
            rec["toolUseID"] = f"bash-progress-{i}"
            rec["parentToolUseID"] = tool_use_id
            rec["timestamp"] = self.tick(1800, 2200)
            self._push(rec)
        rec = self._envelope("user")
        block: dict[str, Any] = {"tool_use_id": tool_use_id, "type": "tool_result", "content": tool.content}
        if tool.is_error or tool.name == "Bash":
            block["is_error"] = tool.is_error
        rec["message"] = {"role": "user", "content": [block]}
        rec["timestamp"] = self.tick(*tool.took_ms)
        rec["toolUseResult"] = tool.tur
        rec["sourceToolAssistantUUID"] = source_uuid
        self._push(rec)

    def stop_hooks(self, command: str) -> None:
        rec = self._envelope("system")
        rec["subtype"] = "stop_hook_summary"
        rec["hookCount"] = 1
        rec["hookInfos"] = [{"command": command}]
        rec["hookErrors"] = []
        rec["preventedContinuation"] = False
        rec["stopReason"] = ""
        rec["hasOutput"] = False
        rec["level"] = "suggestion"
        rec["timestamp"] = self.tick(30, 400)
        self._push(rec)
        rec["toolUseID"] = self.rnd.uuid4()

    def turn_duration(self, since: datetime) -> None:
        rec = self._envelope("system")
        rec["subtype"] = "turn_duration"
        ts = self.tick(2, 10)
        rec["durationMs"] = int((self.clock - since).total_seconds() * 1000)
        rec["timestamp"] = ts
        rec["isMeta"] = False
        self._push(rec)

    def compact(self, summary: str, pre_tokens: int) -> None:
        # The boundary starts a new chain: no parent, but a logical link back.
        env = self._envelope("system")
        rec = {"parentUuid": None, "logicalParentUuid": env.pop("parentUuid"), **env}
        rec["subtype"] = "compact_boundary"
        rec["content"] = "Conversation compacted"
        rec["isMeta"] = False
        rec["timestamp"] = self.tick(20000, 60000)
        rec["level"] = "info"
        rec["compactMetadata"] = {"trigger": "auto", "preTokens": pre_tokens}
        self._push(rec)
        rec = self._envelope("user")
        rec["message"] = {"role": "user", "content": summary}
        rec["isVisibleInTranscriptOnly"] = True
        rec["isCompactSummary"] = True
        rec["timestamp"] = self.tick(5, 30)
        self._push(rec)
        self.cache_read = self.rnd.randint(14000, 19000)

    def api_error(self, status: int, kind: str, message: str) -> None:
        rec = self._envelope("assistant")
        rec["timestamp"] = self.tick(30000, 90000)
        body = '{"type":"error","error":{"type":"%s","message":"%s"},"request_id":"%s"}' % (
            kind,
            message,
            self.rnd.req_id(),
        )
        rec["message"] = {
            "id": self.rnd.uuid4(),
            "container": None,
            "model": "<synthetic>",
            "role": "assistant",
            "stop_reason": "stop_sequence",
            "stop_sequence": "",
            "type": "message",
            "usage": {
                "input_tokens": 0,
                "output_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
                "service_tier": None,
                "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
            },
            "content": [{"type": "text", "text": f"API Error: {status} {body}"}],
            "context_management": None,
        }
        rec["error"] = "unknown"
        rec["isApiErrorMessage"] = True
        self._push(rec)


class Convo:
    """The agent's side of a session: short voice lines, thinking, tool calls."""

    def __init__(self, sess: Session, think_rate: float = 0.36, text_rate: float | None = None) -> None:
        self.s = sess
        self.rnd = sess.rnd
        self.think_rate = think_rate
        # How talkative this agent is: the chance an offered voice line is said.
        self.text_rate = text_rate if text_rate is not None else self.rnd.uniform(0.1, 0.4)
        # Some towns run a Stop hook, some SessionStart hooks log progress.
        self.stop_hook_on = self.rnd.random() < 0.3
        self.start_hooks_on = self.rnd.random() < 0.5
        # Generic thoughts for steps that bring none of their own.
        self.thoughts: tuple[str, ...] = ()
        self._pool: list[str] | None = None
        self.turns = 0  # assistant API messages
        self.turn_start = sess.clock

    def human(self, text: str, hook_cmds: tuple[str, ...] = ()) -> str:
        """A user prompt, preceded by its file-history-snapshot (and SessionStart hooks)."""
        uid = self.rnd.uuid4()
        snap_at = self.s.clock + timedelta(milliseconds=self.rnd.randint(2500, 7000))
        self.s.snapshot(uid, iso(snap_at))
        if hook_cmds and self.start_hooks_on:
            tid = self.rnd.uuid4()
            for cmd in hook_cmds:
                self.s.hook_progress("SessionStart", "SessionStart:startup", cmd, tid)
        self.turn_start = self.s.clock
        return self.s.user_prompt(text, uid)

    def step(
        self,
        text: str | None = None,
        *tools: Tool,
        thinking: str | None = None,
        force_think: bool = False,
        force_text: bool = False,
    ) -> None:
        if text and not force_text and self.rnd.random() >= self.text_rate:
            text = None
        blocks: list[dict[str, Any]] = []
        generic = False
        if not thinking and self.thoughts:
            if self._pool is None:
                self._pool = list(self.thoughts)
                self.rnd.shuffle(self._pool)
            if self._pool:
                thinking, generic = self._pool[-1], True
        if thinking and (force_think or self.rnd.random() < self.think_rate):
            if generic:
                self._pool.pop()  # each generic thought at most once per session
            blocks.append({"type": "thinking", "thinking": thinking, "signature": self.rnd.signature()})
            if text and tools and not force_text and self.rnd.random() < 0.75:
                text = None
        if text:
            blocks.append({"type": "text", "text": text})
        ids = []
        for t in tools:
            tid = self.rnd.toolu_id()
            ids.append(tid)
            blocks.append({"type": "tool_use", "id": tid, "name": t.name, "input": t.input})
        if not blocks:
            return
        stop = None
        if tools and self.rnd.random() < 0.05:
            stop = "tool_use"
        uids = self.s.assistant(blocks, stop)
        self.turns += 1
        tool_uids = uids[len(blocks) - len(tools) :]
        for t, tid, src in zip(tools, ids, tool_uids):
            if t.subagent is not None:
                t.subagent(self.s, tid)
            self.s.tool_result(t, tid, src)
            if t.name in ("Edit", "Write"):
                path = t.input["file_path"]
                self.s.edited[path] = self.s.edited.get(path, 0) + 1

    def end_turn(self, text: str | None, stop_hook: str | None = None) -> None:
        """Close the turn: a last text line (None: the session was ended by a tool), then system noise."""
        if text is not None:
            self.s.assistant([{"type": "text", "text": text}], "end_turn" if self.rnd.random() < 0.3 else None)
            self.turns += 1
        if stop_hook and self.stop_hook_on:
            self.s.stop_hooks(stop_hook)
        if self.rnd.random() < 0.5:
            self.s.turn_duration(self.turn_start)


# -- tool constructors ------------------------------------------------------


def numbered(text: str, start: int = 1) -> str:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    return "\n".join(f"{i:>6}\u2192{line}" for i, line in enumerate(lines, start))


def bash(
    command: str,
    description: str,
    output: str,
    *,
    exit_code: int = 0,
    progress: list[str] | None = None,
    took_ms: tuple[int, int] = (150, 2500),
    timeout: int | None = None,
) -> Tool:
    inp: dict[str, Any] = {"command": command, "description": description}
    if timeout:
        inp["timeout"] = timeout
    if exit_code:
        content = f"Exit code {exit_code}\n{output}"
        return Tool("Bash", inp, content, "Error: " + content, True, progress or [], took_ms)
    tur = {"stdout": output, "stderr": "", "interrupted": False, "isImage": False}
    return Tool("Bash", inp, output, tur, False, progress or [], took_ms)


def read(path: str, text: str, offset: int | None = None, limit: int | None = None) -> Tool:
    """A Read call; with offset/limit only that window of lines comes back."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    total = len(lines)
    if offset is None:
        inp: dict[str, Any] = {"file_path": path}
        start, shown = 1, lines
    else:
        inp = {"file_path": path, "offset": offset, "limit": limit}
        start, shown = offset, lines[offset - 1 : offset - 1 + (limit or total)]
    body = "\n".join(shown) + ("\n" if offset is None and text.endswith("\n") else "")
    tur = {"type": "text", "file": {"filePath": path, "content": body, "numLines": len(shown), "startLine": start, "totalLines": total}}
    return Tool("Read", inp, numbered(body, start), tur, took_ms=(20, 200))


def edit(path: str, original: str, old: str, new: str) -> Tool:
    before = original[: original.index(old)]
    start = before.count("\n") + 1
    old_lines, new_lines = old.split("\n"), new.split("\n")
    patch = [
        {
            "oldStart": start,
            "oldLines": len(old_lines),
            "newStart": start,
            "newLines": len(new_lines),
            "lines": ["-" + ln for ln in old_lines] + ["+" + ln for ln in new_lines],
        }
    ]
    tur = {
        "filePath": path,
        "oldString": old,
        "newString": new,
        "originalFile": original,
        "structuredPatch": patch,
        "userModified": False,
        "replaceAll": False,
    }
    inp = {"replace_all": False, "file_path": path, "old_string": old, "new_string": new}
    return Tool("Edit", inp, f"The file {path} has been updated successfully.", tur, took_ms=(30, 300))


def write(path: str, content: str) -> Tool:
    tur = {"type": "create", "filePath": path, "content": content, "structuredPatch": [], "originalFile": None}
    return Tool("Write", {"file_path": path, "content": content}, f"File created successfully at: {path}", tur, took_ms=(30, 300))


def grep(pattern: str, path: str, files: list[str]) -> Tool:
    inp = {"pattern": pattern, "path": path, "output_mode": "files_with_matches"}
    if files:
        head = f"Found {len(files)} file" + ("s" if len(files) > 1 else "")
        content = head + "\n" + "\n".join(files)
    else:
        content = "No files found"
    tur = {"mode": "files_with_matches", "filenames": files, "numFiles": len(files)}
    return Tool("Grep", inp, content, tur, took_ms=(40, 600))


def chain(description: str, *tools: Tool) -> Tool:
    """Several successful Bash calls run as one ``a && b`` command."""
    cmd = " && ".join(t.input["command"] for t in tools)
    out = "\n".join(t.content for t in tools if t.content)
    return bash(cmd, description, out, took_ms=(sum(t.took_ms[0] for t in tools), sum(t.took_ms[1] for t in tools)))
