"""Property-based fuzzing (hypothesis) of the dataset build with damaged Claude Code records.

The build reads stored Session lines, which only the reader writes; so damaged records reach it
the way they do in a run: shipped sample transcripts with some of their lines replaced, damaged
(wrong field types, deep nesting, huge strings, invalid UTF-8, NUL bytes, two objects on a line,
cut short; the strategies of tests/transcripts/test_fuzz.py), inserted, deleted or repeated, are
read by read_sessions, stored with session_line and built. A second test builds Sessions made up
outright: odd text (NUL, control and non-BMP characters, huge strings, lone JSON syntax),
orphan and duplicate tool ids, empty turns, nested arguments.

Invariants tested (what build.py and the modules it calls guarantee):

1. Nothing raises, for any spec token budget (even one the system prompt alone exceeds) and
   chunk overlap; a second build of the same lines (from the row cache) writes the same bytes.
2. Every session is accounted for: of the N stored lines, train.sessions + val.sessions have
   rows in the files, dropped["session_without_rows"] had none worth keeping, and the rest
   (0 to sum(duplicates)) lost every row to deduplication.
3. The files are what the result says: rows, bytes, sha256 digest (and, counted additively, tokens) match; no
   session is in both files and each is on the side is_val puts it.
4. Every row is well formed: the spec's system prompt first; then user, assistant and tool
   messages with string content; tool-call arguments a JSON object; each tool message answers a
   call of the assistant message it follows; within the token budget; free of quality issues.

Token counts come from an additive stand-in (so totals can be checked exactly) and, in a few
examples, from a real chat template and a small tokenizer trained on the samples (tokens.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import orjson
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import tests.transcripts.test_fuzz as fuzz
from gastown_assets.config import Project
from gastown_assets.datasets.build import BuildSpec, build, spec_for
from gastown_assets.datasets.quality import quality_issue
from gastown_assets.datasets.split import is_val
from gastown_assets.samples import SESSIONS_DIR
from gastown_assets.transcripts import ParseStats, Session, ToolCall, Turn, read_sessions
from gastown_assets.transcripts.store import session_line
from tests.support import CONFIG_DIR

FUZZ = settings(fuzz.FUZZ, max_examples=60)


def _cost(message: dict) -> int:
    calls = message.get("tool_calls") or ()
    return 4 + len(message["content"]) // 4 + sum(4 + len(c["function"]["arguments"]) // 4 for c in calls)


# Additive, like a ChatML template's counts, so the build's sums are exact. A lambda does not
# pickle, so the build stays in this process however many sessions it gets.
COUNT = lambda conversations: [sum(_cost(m) for m in c) for c in conversations]  # noqa: E731

BASE_SPEC = spec_for(Project(CONFIG_DIR, "tiny", Path("unused")), "polecat", tokenizer_id="fuzz")
SPECS = st.builds(
    lambda budget, overlap, turns, chars: dataclasses.replace(
        BASE_SPEC,
        token_budget=budget,
        chunk_overlap_units=overlap,
        min_assistant_turns=turns,
        min_assistant_chars=chars,
    ),
    st.sampled_from([BASE_SPEC.token_budget, 400, 150, 60]),  # 60: less than the system prompt
    st.sampled_from([0, 1, 2]),
    st.sampled_from([1, 2]),
    st.sampled_from([0, BASE_SPEC.min_assistant_chars]),
)


def _sample_files() -> list[list[bytes]]:
    """The lines of the smaller sample transcripts (main sessions), in path order."""
    files = sorted(p for p in SESSIONS_DIR.rglob("*.jsonl") if "subagents" not in p.parts and p.stat().st_size < 40_000)
    return [p.read_bytes().splitlines() for p in files]


SAMPLES = _sample_files()


@st.composite
def damaged_transcript(draw) -> bytes:
    """A sample transcript with 0-5 of its lines replaced, damaged, inserted, deleted or repeated."""
    lines = list(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(0, 5))):
        op = draw(st.sampled_from(["replace", "fields", "bytes", "insert", "delete", "repeat"]))
        i = draw(st.integers(0, len(lines) - 1)) if lines else 0
        if op == "insert" or not lines:
            lines.insert(i, draw(fuzz.file_line())[1])
        elif op == "replace":
            lines[i] = draw(fuzz.file_line())[1]
        elif op == "fields":
            try:
                record = orjson.loads(lines[i])
            except orjson.JSONDecodeError:
                continue
            if isinstance(record, dict):
                lines[i] = fuzz.encode(draw(fuzz.damaged_record(seeds=[record])), draw(st.booleans()))
        elif op == "bytes":
            lines[i] = draw(fuzz.damaged_bytes(lines[i]))
        elif op == "delete":
            del lines[i]
        else:
            lines.insert(i, lines[i])
    data = b"\n".join(lines)
    return data if draw(st.booleans()) else data + b"\n"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-build")


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def check_build(lines: list[bytes], spec: BuildSpec, out: Path, count=COUNT) -> None:
    result = build(lines, spec, count, out)
    system = {"role": "system", "content": spec.system_prompt.strip()}
    sides: dict[str, set[str]] = {}
    for side, f in (("train", result.train), ("val", result.val)):
        data = Path(f.path).read_bytes()
        assert (f.bytes, f.digest) == (len(data), hashlib.sha256(data).hexdigest())
        rows = [orjson.loads(line) for line in data.splitlines()]
        assert f.rows == len(rows)
        if count is COUNT:  # exact sums; a real template's counts are only recounted near the budget
            assert f.tokens == sum(COUNT([r["messages"] for r in rows]))
        sides[side] = {r["session_id"] for r in rows}
        assert len(sides[side]) <= f.sessions
        for row in rows:
            assert is_val(row["session_id"], spec.val_fraction, spec.split_salt) == (side == "val")
            check_row(row["messages"], system, spec, count)
    assert not sides["train"] & sides["val"]

    unaccounted = len(lines) - result.train.sessions - result.val.sessions - result.dropped["session_without_rows"]
    assert 0 <= unaccounted <= sum(result.duplicates.values()), (len(lines), result)
    event("rows written" if result.train.rows + result.val.rows else "no rows")
    event("a session lost every row to dedup" if unaccounted else "no session lost to dedup")

    again = build(lines, spec, count, out)  # every session's rows from the row cache now
    assert again.cache_misses == 0 and (again.train.digest, again.val.digest) == (
        result.train.digest,
        result.val.digest,
    )


def check_row(messages: list[dict], system: dict, spec: BuildSpec, count=COUNT) -> None:
    assert messages[0] == system
    assert count([messages])[0] <= spec.token_budget
    assert sum(m["role"] == "assistant" for m in messages) >= spec.min_assistant_turns
    assert quality_issue(messages, spec.min_assistant_chars) is None
    answerable: set[str] = set()
    for m in messages[1:]:
        assert m["role"] in ("user", "assistant", "tool") and isinstance(m["content"], str)
        if m["role"] == "assistant":
            answerable = set()
            for call in m.get("tool_calls", ()):
                assert isinstance(call["id"], str) and isinstance(call["function"]["name"], str)
                assert isinstance(json.loads(call["function"]["arguments"]), dict)
                answerable.add(call["id"])
        elif m["role"] == "tool":
            assert m["tool_call_id"] in answerable
        else:
            answerable = set()


@FUZZ
@given(st.lists(damaged_transcript(), min_size=1, max_size=4), SPECS)
def test_builds_from_damaged_transcripts_never_raise_and_account_for_every_session(scratch, transcripts, spec):
    corpus = _fresh(scratch / "corpus")
    lines, stats = [], ParseStats()
    for i, data in enumerate(transcripts):
        path = corpus / f"{i:08d}-fuzz.jsonl"
        path.write_bytes(data)
        lines.extend(session_line(s) for s in read_sessions(path, stats))
    assert len(lines) == stats.sessions
    check_build(lines, spec, _fresh(scratch / "out"))


# --- Sessions made up outright -----------------------------------------------------------------

TEXT = st.one_of(
    st.text(max_size=80),
    st.text(st.characters(codec="utf-8"), min_size=20, max_size=200),
    st.sampled_from(
        [
            "",
            " ",
            "\n\n",
            "\x00",
            "ok",
            "Done.",
            "API Error: 500",
            "Error: exit code 1",
            "Traceback (most recent call last):",
            "[... 3 chars cut ...]",
            '{"role":"system"}',
            "\U0001f600" * 30,
            "I'll run the tests now and check the output carefully.",
            "key AKIAIOSFODNN7EXAMPLE and password=hunter2hunter2",
        ]
    ),
    st.sampled_from([300, 5000]).map(lambda n: "x" * n),
)
IDS = st.sampled_from(["t1", "t2", "", "t1 ", "\x00"])
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False, allow_infinity=False), TEXT
)
JSON = st.recursive(
    JSON_SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(TEXT, c, max_size=3), max_leaves=12
)
TURNS = st.one_of(
    st.builds(Turn, speaker=st.just("user"), text=TEXT),
    st.builds(
        Turn,
        speaker=st.just("assistant"),
        text=TEXT,
        thinking=TEXT,
        tool_calls=st.lists(
            st.builds(ToolCall, id=IDS, name=TEXT, arguments=st.dictionaries(TEXT, JSON, max_size=4)), max_size=3
        ),
    ),
    st.builds(Turn, speaker=st.just("tool"), text=TEXT, tool_call_id=IDS | st.none(), is_error=st.booleans()),
)
SESSIONS = st.builds(
    Session,
    session_id=st.text(min_size=1, max_size=40),
    path=st.just("made-up.jsonl"),
    cwd=st.text(max_size=20),
    turns=st.lists(TURNS, max_size=14),
)


@FUZZ
@given(st.lists(SESSIONS, min_size=1, max_size=6), SPECS)
def test_builds_from_made_up_sessions_never_raise_and_account_for_every_session(scratch, sessions, spec):
    check_build([session_line(s) for s in sessions], spec, _fresh(scratch / "out"))


def test_the_samples_give_the_fuzzing_sessions_with_rows(scratch):
    lines = []
    for i, data in enumerate(b"\n".join(f) + b"\n" for f in SAMPLES[:5]):
        path = scratch / f"sample-{i}.jsonl"
        path.write_bytes(data)
        lines.extend(session_line(s) for s in read_sessions(path, ParseStats()))
    result = build(lines, BASE_SPEC, COUNT, _fresh(scratch / "samples"))
    assert len(SAMPLES) >= 20 and result.train.rows + result.val.rows > 0


@pytest.fixture(scope="module")
def real_counter(tmp_path_factory):
    """The tiny model's ChatML template and a small tokenizer trained on part of the samples."""
    from itertools import islice

    from gastown_assets.datasets.tokens import chat_token_counter
    from gastown_assets.training.base_model import corpus_texts
    from gastown_assets.training.tiny_model import train_tokenizer

    model_dir = tmp_path_factory.mktemp("tokenizer")
    train_tokenizer(islice(corpus_texts(SESSIONS_DIR), 300), 300).save_pretrained(model_dir)
    return chat_token_counter(str(model_dir))


@settings(FUZZ, max_examples=30)
@given(st.lists(SESSIONS, max_size=3), st.lists(damaged_transcript(), min_size=1, max_size=2), SPECS)
def test_builds_with_a_real_chat_template_never_raise(scratch, real_counter, sessions, transcripts, spec):
    lines = [session_line(s) for s in sessions]
    corpus = _fresh(scratch / "corpus")
    for i, data in enumerate(transcripts):
        path = corpus / f"{i:08d}-fuzz.jsonl"
        path.write_bytes(data)
        lines.extend(session_line(s) for s in read_sessions(path, ParseStats()))
    check_build(lines, spec, _fresh(scratch / "out"), real_counter)
