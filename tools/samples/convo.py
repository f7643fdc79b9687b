"""The agent's side of a synthetic session: :class:`Convo` and the tool-call constructors.

:class:`Convo` turns "the agent says X and runs tool Y" into records on a
:class:`~tools.samples.transcript.Session`; ``bash``, ``read``, ``edit``,
``write``, ``grep`` and ``chain`` build the :class:`~tools.samples.transcript.Tool`
calls it runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .transcript import Session, Tool, iso


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
    tur = {
        "type": "text",
        "file": {"filePath": path, "content": body, "numLines": len(shown), "startLine": start, "totalLines": total},
    }
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
    return Tool(
        "Write",
        {"file_path": path, "content": content},
        f"File created successfully at: {path}",
        tur,
        took_ms=(30, 300),
    )


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
