"""Record builder for synthetic Claude Code 2.1.x transcripts.

A :class:`Session` appends JSONL records the way Claude Code writes them: a
``parentUuid``/``uuid`` chain, one assistant API message split over several
lines that share ``message.id`` and ``requestId``, tool results as user
records with ``toolUseResult``, and the surrounding noise (progress, system,
file-history-snapshot, summary) real files carry.

:class:`~tools.samples.convo.Convo` sits on top and turns "the agent says X
and runs tool Y" into records. Everything random comes from the :class:`Rand`
passed in, so output is a pure function of the seed.
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
