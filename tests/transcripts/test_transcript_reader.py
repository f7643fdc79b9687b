"""Reader behaviour on small hand-written transcripts: damage, merging, dropping."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orjson

from gastown_assets.transcripts import ParseStats, Session, iter_records, read_sessions

SID = "11111111-2222-3333-4444-555555555555"


def rec(kind: str, content, **extra) -> dict:
    record = {"type": kind, "sessionId": SID, "cwd": "/home/u/gt/mayor", "version": "2.1.39"}
    record["message"] = {"role": kind, "content": content}
    record.update(extra)
    return record


def reply(message_id: str, *blocks: dict, **extra) -> dict:
    record = rec("assistant", list(blocks), **extra)
    record["message"].update(id=message_id, model="claude-opus-4-6")
    return record


def text(value: str) -> dict:
    return {"type": "text", "text": value}


def tool_use(call_id: str, name: str = "Bash", **arguments) -> dict:
    return {"type": "tool_use", "id": call_id, "name": name, "input": arguments}


def result(call_id: str, content, **extra) -> dict:
    return {"type": "tool_result", "tool_use_id": call_id, "content": content, **extra}


def write(path: Path, *lines) -> Path:
    raw = [line if isinstance(line, bytes) else orjson.dumps(line) for line in lines]
    path.write_bytes(b"\n".join(raw) + b"\n")
    return path


def sessions_of(path: Path, **kwargs) -> tuple[list[Session], ParseStats]:
    stats = ParseStats()
    return list(read_sessions(path, stats, **kwargs)), stats


def test_invalid_utf8_is_replaced_not_fatal(tmp_path):
    good = orjson.dumps(rec("user", "hello WORLD"))
    path = write(tmp_path / "s.jsonl", good.replace(b"WORLD", b"W\xffRLD"))
    (session,), stats = sessions_of(path)
    assert session.turns[0].text == "hello W\ufffdRLD"
    assert stats.skipped["invalid_utf8_replaced"] == 1


def test_a_truncated_last_line_without_newline_is_counted_and_the_rest_kept(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(orjson.dumps(rec("user", "first")) + b'\n{"type":"user","message":{"ro')
    (session,), stats = sessions_of(path)
    assert [t.text for t in session.turns] == ["first"]
    assert stats.skipped["invalid_json"] == 1
    assert stats.lines == 2


def test_an_empty_file_yields_nothing(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"")
    sessions, stats = sessions_of(path)
    assert sessions == [] and stats.files == 1 and stats.lines == 0


def test_json_that_is_not_an_object_is_skipped(tmp_path):
    path = write(tmp_path / "s.jsonl", b"[1, 2]", b"42", b'"text"', b"null", rec("user", "hi"))
    stats = ParseStats()
    records = list(iter_records(path, stats))
    assert len(records) == 1 and stats.skipped["not_an_object"] == 4


def test_blank_and_nul_padded_lines_are_skipped(tmp_path):
    path = write(tmp_path / "s.jsonl", b"", b"\x00\x00\x00", b"   ", rec("user", "hi"))
    stats = ParseStats()
    assert len(list(iter_records(path, stats))) == 1
    assert stats.skipped["blank_line"] == 3


def test_a_lone_surrogate_escape_is_replaced_so_the_turn_can_be_serialised(tmp_path):
    line = b'{"type":"user","sessionId":"s","message":{"content":"a\\ud800b"}}'
    path = write(tmp_path / "s.jsonl", line)
    (session,), stats = sessions_of(path)
    assert orjson.loads(orjson.dumps(session.turns[0].text)) == "a\ufffdb"
    assert stats.skipped["lone_surrogate_replaced"] == 1


def test_wrongly_typed_content_is_counted_without_losing_the_session(tmp_path):
    path = write(
        tmp_path / "s.jsonl",
        rec("user", 42),
        rec("user", {"not": "a list"}),
        {"type": "assistant", "sessionId": SID, "message": "not a dict"},
        rec("user", [text("fine"), "a bare string", {"type": 7}]),
        {"type": ["odd"], "sessionId": SID},
    )
    (session,), stats = sessions_of(path)
    assert [t.text for t in session.turns] == ["fine"]
    assert stats.skipped["bad_content"] == 2
    assert stats.skipped["bad_message"] == 1
    assert stats.skipped["block:invalid"] == 2
    assert stats.records["no_type"] == 1


def test_interleaved_lines_of_one_message_merge_with_results_after_the_calls(tmp_path):
    path = write(
        tmp_path / "s.jsonl",
        rec("user", "list files"),
        reply("m1", {"type": "thinking", "thinking": "plan"}),
        reply("m1", text("Looking.")),
        reply("m1", tool_use("a", command="ls")),
        {"type": "progress", "sessionId": SID},
        rec("user", [result("a", "x.py")]),
        reply("m1", tool_use("b", command="pwd")),
        rec("user", [result("b", [text("/tmp"), text("ok")], is_error=True)]),
        reply("m2", text("Done.")),
    )
    (session,), stats = sessions_of(path)
    speakers = [t.speaker for t in session.turns]
    assert speakers == ["user", "assistant", "tool", "tool", "assistant"]
    first = session.turns[1]
    assert (first.text, first.thinking) == ("Looking.", "plan")
    assert [(c.id, c.arguments) for c in first.tool_calls] == [
        ("a", {"command": "ls"}),
        ("b", {"command": "pwd"}),
    ]
    assert session.turns[3].text == "/tmp\n\nok" and session.turns[3].is_error
    assert session.turns[2].tool_call_id == "a" and not session.turns[2].is_error
    assert stats.skipped["progress"] == 1


def test_the_same_message_id_after_a_new_user_prompt_starts_a_new_turn(tmp_path):
    path = write(
        tmp_path / "s.jsonl",
        reply("m1", text("one")),
        rec("user", "next"),
        reply("m1", text("two")),
    )
    (session,), _ = sessions_of(path)
    assert [t.text for t in session.turns] == ["one", "next", "two"]


def test_images_never_reach_a_turn(tmp_path):
    png = "iVBORw0KGgo" + "A" * 4000
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}}
    uri = f"data:image/png;base64,{png}"
    path = write(
        tmp_path / "s.jsonl",
        rec("user", [image, text("what is this?")]),
        reply("m1", tool_use("a", "shot", payload=image, raw=png, uri=uri)),
        rec("user", [result("a", [image, text("saved")])]),
    )
    (session,), stats = sessions_of(path)
    assert session.turns[0].text == "what is this?"
    assert session.turns[1].tool_calls[0].arguments == {
        "payload": "[image]",
        "raw": "[image]",
        "uri": "[image]",
    }
    assert session.turns[2].text == "[image]\n\nsaved"
    assert png[:20] not in orjson.dumps(session.turns[1].tool_calls[0].arguments).decode()
    assert stats.skipped["image_dropped"] == 1 and stats.skipped["image_replaced"] == 1


def test_meta_synthetic_and_bookkeeping_records_are_dropped_and_counted(tmp_path):
    synthetic = reply("m9", text("API Error: 500"), isApiErrorMessage=True)
    synthetic["message"]["model"] = "<synthetic>"
    path = write(
        tmp_path / "s.jsonl",
        {"type": "summary", "summary": "x", "leafUuid": "u"},
        {"type": "file-history-snapshot", "messageId": "m"},
        {"type": "system", "subtype": "compact_boundary", "sessionId": SID},
        rec("user", "<local-command-caveat>Caveat</local-command-caveat>", isMeta=True),
        rec("user", "hi"),
        synthetic,
        {"type": "pr-link", "sessionId": SID, "prNumber": 1},
        {"type": "queue-operation", "operation": "enqueue", "sessionId": SID},
    )
    (session,), stats = sessions_of(path)
    assert [t.text for t in session.turns] == ["hi"]
    for reason in ("summary", "file-history-snapshot", "system", "meta", "synthetic_api_error"):
        assert stats.skipped[reason] == 1, reason
    assert stats.skipped["pr-link"] == stats.skipped["queue-operation"] == 1


def test_a_compact_summary_is_kept_as_a_user_turn(tmp_path):
    summary = "This session is being continued from a previous conversation..."
    path = write(
        tmp_path / "s.jsonl",
        {"type": "system", "subtype": "compact_boundary", "sessionId": SID},
        rec("user", summary, isCompactSummary=True, isVisibleInTranscriptOnly=True),
        reply("m1", text("Continuing.")),
    )
    (session,), _ = sessions_of(path)
    assert [(t.speaker, t.text) for t in session.turns] == [
        ("user", summary),
        ("assistant", "Continuing."),
    ]


def test_empty_turns_are_dropped_but_empty_tool_results_are_kept(tmp_path):
    path = write(
        tmp_path / "s.jsonl",
        rec("user", "   "),
        reply("m1", {"type": "thinking", "thinking": "only thoughts"}),
        reply("m2", text("\n\n"), tool_use("a")),
        rec("user", [result("a", "")]),
    )
    (session,), stats = sessions_of(path)
    assert [t.speaker for t in session.turns] == ["assistant", "tool"]
    assert stats.skipped["empty_message"] == 2


def test_inline_sidechains_become_subagent_sessions_grouped_by_root(tmp_path):
    def side(uuid, parent, record):
        return {**record, "uuid": uuid, "parentUuid": parent, "isSidechain": True}

    path = write(
        tmp_path / "s.jsonl",
        {**rec("user", "do two things"), "uuid": "m0", "isSidechain": False},
        side("a0", None, rec("user", "task A")),
        side("b0", None, rec("user", "task B")),
        side("a1", "a0", reply("ra", text("A done"))),
        side("b1", "b0", reply("rb", text("B done"))),
    )
    (main,), stats = sessions_of(path)
    assert [t.text for t in main.turns] == ["do two things"]
    assert stats.skipped["sidechain_inline"] == 4

    main, a, b = sessions_of(path, include_sidechains=True)[0]
    assert [(s.session_id, s.kind, s.parent_session_id) for s in (a, b)] == [
        ("a0", "subagent", SID),
        ("b0", "subagent", SID),
    ]
    assert [t.text for t in a.turns] == ["task A", "A done"]
    assert [t.text for t in b.turns] == ["task B", "B done"]


def test_a_subagent_file_is_one_session_named_after_the_file(tmp_path):
    folder = tmp_path / "proj" / SID / "subagents"
    folder.mkdir(parents=True)
    sidechain = {"isSidechain": True, "agentId": "abc1234"}
    path = write(folder / "agent-abc1234.jsonl", rec("user", "task", **sidechain))
    (session,), _ = sessions_of(path)
    assert (session.session_id, session.kind, session.parent_session_id) == (
        "agent-abc1234",
        "subagent",
        SID,
    )
    assert [t.text for t in session.turns] == ["task"]


def test_stats_add_up_across_files_and_export_as_plain_dict(tmp_path):
    stats = ParseStats()
    for name in ("a", "b"):
        list(read_sessions(write(tmp_path / f"{name}.jsonl", rec("user", "hi"), b"[]"), stats))
    exported = {f.name: getattr(stats, f.name) for f in dataclasses.fields(stats)}  # asdict garbles Counters
    assert orjson.loads(orjson.dumps(exported)) == exported
    assert exported["files"] == 2 and exported["sessions"] == 2 and exported["turns"] == 2
    assert exported["records"] == {"user": 2}
    assert exported["skipped"] == {"not_an_object": 2}


def test_a_project_level_agent_file_takes_its_parent_from_its_records(tmp_path):
    """Claude Code 2.0.x wrote subagents as <project>/agent-<id>.jsonl beside the parent."""
    path = write(tmp_path / "agent-0a1b2c3d.jsonl", rec("user", "task", isSidechain=True))
    (session,), _ = sessions_of(path)
    assert (session.kind, session.parent_session_id) == ("subagent", SID)
