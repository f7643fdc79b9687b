"""The reader against the 20 real Claude Code transcripts in ../shared (read in place)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from gastown_assets.transcripts import (
    ParseStats,
    Session,
    find_session_files,
    iter_records,
    read_sessions,
)

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "claude_sessions"
if not FIXTURES.is_dir():
    pytest.skip(f"real transcripts not found at {FIXTURES}", allow_module_level=True)

MAIN_1 = "258c7280-ae70-4798-800f-63464d01a85d"


def fixture(name_prefix: str) -> Path:
    (path,) = FIXTURES.glob(f"**/{name_prefix}*.jsonl")
    return path


def parse(path: Path, **kwargs) -> tuple[list[Session], ParseStats]:
    stats = ParseStats()
    return list(read_sessions(path, stats, **kwargs)), stats


@pytest.fixture(scope="module")
def corpus() -> dict[Path, tuple[list[Session], ParseStats]]:
    return {f.path: parse(f.path) for f in find_session_files([FIXTURES])}


def all_strings(session: Session):
    """Every string a training row could be built from."""

    def walk(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for v in value.values():
                yield from walk(v)
        elif isinstance(value, list):
            for v in value:
                yield from walk(v)

    for turn in session.turns:
        yield turn.text
        yield turn.thinking
        for call in turn.tool_calls:
            yield from walk(call.arguments)


def test_every_real_transcript_parses_into_sessions_with_turns(corpus):
    assert len(corpus) == 20
    for path, (sessions, _) in corpus.items():
        assert sessions, path
        assert all(s.turns for s in sessions), path
        assert all(s.cwd.startswith("/") and s.version for s in sessions), path


def test_corpus_stats_account_for_every_byte_and_each_dropped_record_type(corpus):
    every = [stats for _, stats in corpus.values()]
    skipped = sum((s.skipped for s in every), Counter())
    assert sum(s.files for s in every) == 20
    assert sum(s.bytes for s in every) == 16_087_738  # PROVENANCE.md's total
    assert sum(s.sessions for s in every) == 21 and sum(s.turns for s in every) > 2000
    for reason in (
        "progress",
        "file-history-snapshot",
        "queue-operation",
        "summary",
        "pr-link",
        "system",
        "synthetic_api_error",
        "sidechain_inline",
        "meta",
        "image_dropped",
    ):
        assert skipped[reason] > 0, reason
    assert skipped["invalid_json"] == 0
    assert skipped["progress"] == 4293


def test_two_json_objects_on_one_line_are_both_recovered():
    path = fixture("130d7b7e")
    naive = 0
    for line in path.read_bytes().splitlines():
        try:
            json.loads(line)
            naive += 1
        except ValueError:
            pass
    stats = ParseStats()
    records = list(iter_records(path, stats))
    assert len(records) == naive + 2  # the bad line holds an assistant reply and a summary
    assert stats.skipped["invalid_json"] == 0
    assert stats.skipped["concatenated_json_split"] == 1
    summaries = {r["summary"] for r in records if r["type"] == "summary"}
    assert "Add agent name to logging context automatically" in summaries


def test_the_resumed_copy_of_a_reply_is_not_trained_on_twice():
    sessions, stats = parse(fixture("130d7b7e"))
    texts = [t.text for t in sessions[0].turns if t.speaker == "assistant" and t.text]
    assert stats.skipped["duplicate_uuid"] == 1
    assert len(texts) == len(set(texts))


def test_a_file_holding_two_session_ids_yields_two_sessions_in_order():
    sessions, _ = parse(fixture("4931d45a"))
    assert [s.session_id for s in sessions] == [
        "2a8af1a8-f8cc-4816-a463-12df7a999930",
        "4931d45a-d447-44b4-8475-1e6fcfcc28bf",
    ]


@pytest.mark.parametrize("name", ["062a8bdd", "7ef6a581"])
def test_no_base64_image_reaches_a_turn(corpus, name):
    sessions, stats = corpus[fixture(name)]
    for session in sessions:
        for text in all_strings(session):
            assert len(text) < 50_000
            assert "iVBOR" not in text and "/9j/" not in text
    assert stats.skipped["image_dropped"] + stats.skipped["image_replaced"] > 0


def test_screenshots_in_tool_results_become_an_image_marker(corpus):
    sessions, stats = corpus[fixture("7ef6a581")]
    marked = [t for t in sessions[0].turns if t.speaker == "tool" and "[image]" in t.text]
    assert len(marked) == stats.skipped["image_replaced"] == 4


def test_lines_of_one_streamed_assistant_message_become_one_turn(corpus):
    path = fixture(MAIN_1)
    ids = set()
    for line in path.read_bytes().splitlines():
        record = json.loads(line)
        message = record.get("message") or {}
        if record["type"] == "assistant" and message.get("model") != "<synthetic>":
            ids.add(message["id"])
    sessions, _ = corpus[path]
    assistant_turns = [t for t in sessions[0].turns if t.speaker == "assistant"]
    assert len(assistant_turns) == len(ids) == 152


def test_parallel_tool_calls_come_before_their_interleaved_results(corpus):
    """File #1 writes call, result, call, result for one message: calls must be grouped."""
    for sessions, _ in corpus.values():
        for session in sessions:
            asked: set[str] = set()
            for turn in session.turns:
                asked.update(c.id for c in turn.tool_calls)
                if turn.speaker == "tool":
                    assert turn.tool_call_id in asked, session.path
    turns = corpus[fixture(MAIN_1)][0][0].turns
    assert max(len(t.tool_calls) for t in turns) >= 8


@pytest.mark.parametrize(("name", "dropped"), [("a032db5a", 1), ("198393f2", 3)])
def test_synthetic_replies_are_dropped(corpus, name, dropped):
    sessions, stats = corpus[fixture(name)]
    assert stats.skipped["synthetic_api_error"] == dropped
    texts = [t.text for s in sessions for t in s.turns if t.speaker == "assistant"]
    assert not any(t.startswith(("API Error: 500", "No response requested.")) for t in texts)


def test_thinking_is_kept_apart_from_the_reply_text(corpus):
    turns = corpus[fixture(MAIN_1)][0][0].turns
    thoughtful = [t for t in turns if t.thinking]
    assert thoughtful
    assert all(t.speaker == "assistant" and t.thinking not in t.text for t in thoughtful)


def test_subagent_files_point_at_their_parent_session(corpus):
    expected = {
        "agent-a881341": ("subagent", MAIN_1),
        "agent-acompact-fffbd0": ("compaction", MAIN_1),
        "agent-ade0ac4": ("subagent", "dc9d694e-994e-4b73-9876-59c87b636ae6"),  # orphan
    }
    for name, (kind, parent) in expected.items():
        (session,) = corpus[fixture(name)][0]
        assert (session.session_id, session.kind, session.parent_session_id) == (
            name,
            kind,
            parent,
        )
    files = {f.path.stem: f for f in find_session_files([FIXTURES])}
    assert (files["agent-a881341"].kind, files["agent-a881341"].parent_session_id) == (
        "subagent",
        MAIN_1,
    )


def test_inline_sidechains_are_skipped_unless_asked_for():
    path = fixture("fe5e1c67")
    main_only, stats = parse(path)
    assert [s.kind for s in main_only] == ["main"]
    assert stats.skipped["sidechain_inline"] == 405

    sessions, _ = parse(path, include_sidechains=True)
    main, subagents = sessions[0], sessions[1:]
    assert len(subagents) == 5
    assert {s.parent_session_id for s in subagents} == {main.session_id}
    task_prompts = {c.arguments["prompt"] for t in main.turns for c in t.tool_calls if c.name == "Task"}
    assert {s.turns[0].text for s in subagents} <= task_prompts


def test_a_compaction_summary_is_kept_as_what_the_agent_saw(corpus):
    sessions, stats = corpus[fixture("3689f9fd")]
    starts = [t.text[:60] for t in sessions[0].turns if t.speaker == "user"]
    assert any(s.startswith("This session is being continued from a previous") for s in starts)
    assert stats.skipped["summary"] == 1


def test_session_metadata_comes_from_its_first_record(corpus):
    (session,) = corpus[fixture("7ef6a581")][0]
    assert session.cwd == "/Users/csells/Code/gastownhall/website-cc"  # later moves to src/
    assert session.version == "2.1.12"
    assert session.started_at.startswith("20")
    speakers = Counter(t.speaker for t in session.turns)
    assert set(speakers) == {"user", "assistant", "tool"}


def test_user_command_markup_is_kept_verbatim(corpus):
    (session,) = corpus[fixture("fe5e1c67")][0]
    assert session.turns[0].speaker == "user"
    assert session.turns[0].text.startswith("<command-message>orchestrator is running…")
    assert "<command-name>/orchestrator</command-name>" in session.turns[0].text
