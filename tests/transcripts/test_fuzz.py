"""Property-based fuzzing (hypothesis) of the transcript reader with damaged Claude Code records.

Records start from real transcripts (the ../shared fixtures, read in place, and the shipped
samples) and are damaged: any field set to a value of the wrong type or deleted, nesting far
beyond any real record, huge strings, lone surrogates, NaN and 30-digit integers; lines cut
short, given NUL bytes or invalid UTF-8, two objects on one line, garbage lines, CRLF or NUL
padding, no final newline.

Invariants tested (what jsonl.py and reader.py guarantee):

1. Nothing raises: not iter_records, not read_sessions, not storing a Session (session_line)
   and decoding it back (session_from_dict) as the dataset build does.
2. stats.lines is the number of physical lines (split at b"\\n"; a last line without one
   counts) and stats.bytes the file's size.
3. Every line is accounted for: decoded alone, a line yields at least one record or counts one
   of blank_line, invalid_json, not_an_object, too_deep; and the file's records and skip counts
   are the sums of its lines' (a line's outcome does not depend on its neighbours).
4. Every yielded record is counted once, in stats.records under its type.
5. An undamaged line yields exactly its record and counts nothing; a line cut short (a proper
   prefix of a record's JSON) yields nothing and counts invalid_json (blank_line if nothing is
   left; a cut inside a UTF-8 sequence may add invalid_utf8_replaced).
6. read_sessions: every record of a type other than user/assistant is counted as skipped under
   its type; stats.sessions and stats.turns match what was yielded; every Session field is of
   its declared type whatever the record held, and a stored Session reads back to the same line.
7. One field of a plain user/assistant record given a wrong type has its documented outcome:
   message not an object -> bad_message; content neither string nor list -> bad_content; a
   block not an object -> block:invalid; tool_use input not an object -> {"input": value};
   cwd/timestamp/version/sessionId not strings -> "" (the session id falls back to the file name).
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gastown_assets.samples import SESSIONS_DIR
from gastown_assets.transcripts import ParseStats, Session, ToolCall, Turn, iter_records, read_sessions
from gastown_assets.transcripts.content import assistant_turn, user_turns
from gastown_assets.transcripts.jsonl import record_type
from gastown_assets.transcripts.store import session_from_dict, session_line
from tests.support import SHARED_SESSIONS

# Reproducible in CI: the same examples every run, nothing remembered between runs.
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

LINE_REASONS = {"blank_line", "invalid_json", "not_an_object", "too_deep"}
SEED_MAX_BYTES = 16_000  # larger real lines add time, not new shapes


def _shape(record: dict) -> tuple:
    message = record.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    blocks = tuple(b.get("type") for b in content if isinstance(b, dict)) if isinstance(content, list) else ()
    return (
        record.get("type"),
        type(content).__name__,
        blocks[:3],
        record.get("isSidechain"),
        record.get("isMeta"),
        "toolUseResult" in record,
    )


def _load_seeds() -> list[dict]:
    """Up to 3 records of each shape (type, content kind, block types, flags) from every real
    and sample transcript, in path order: a few hundred different records."""
    roots = [r for r in (SHARED_SESSIONS, SESSIONS_DIR) if r.is_dir()]
    seeds, per_shape = [], Counter()
    for path in sorted(p for root in roots for p in root.rglob("*.jsonl")):
        with path.open("rb") as f:
            for line in f:
                if len(line) > SEED_MAX_BYTES:
                    continue
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(record, dict) and per_shape[_shape(record)] < 3:
                    per_shape[_shape(record)] += 1
                    seeds.append(record)
    return seeds


SEEDS = _load_seeds()
CHAT_TYPES = ("user", "assistant")


def _plain(record: dict) -> bool:
    """A user/assistant record that read_sessions alone turns into a session of its own."""
    message = record.get("message")
    if not (
        record.get("type") in CHAT_TYPES
        and isinstance(message, dict)
        and isinstance(record.get("uuid"), str)
        and record.get("isSidechain") is not True
        and record.get("isMeta") is not True
        and record.get("isApiErrorMessage") is not True
        and message.get("model") != "<synthetic>"
    ):
        return False
    if record["type"] == "user":
        turns = user_turns(message.get("content"), ParseStats())
    else:
        turns = [assistant_turn(message.get("content"), ParseStats())]
    return any(t.speaker == "tool" or t.text.strip() or t.tool_calls for t in turns)


PLAIN = [r for r in SEEDS if _plain(r)]
TOOL_USE = [
    r
    for r in PLAIN
    if isinstance(r["message"]["content"], list)
    and any(isinstance(b, dict) and b.get("type") == "tool_use" for b in r["message"]["content"])
]


def test_the_seeds_cover_the_record_kinds():
    kinds = Counter(record_type(r) for r in SEEDS)
    assert kinds["user"] and kinds["assistant"] and len(kinds) >= 3, kinds
    assert len(PLAIN) >= 10 and TOOL_USE


# --- values and damage -------------------------------------------------------------------------

# Markers replaced in the encoded line (json cannot write these values itself).
_MARK = re.compile(rb'"\\u0001(DEEP|HUGE):(\d+)\\u0001"')


def _deep(n: int) -> str:
    return f"\x01DEEP:{n}\x01"


def _huge(n: int) -> str:
    return f"\x01HUGE:{n}\x01"


def _expand(match: re.Match) -> bytes:
    n = int(match[2])
    return b"[" * n + b"]" * n if match[1] == b"DEEP" else b'"' + b"x" * n + b'"'


ODD_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "\ud800",
            "x\udfffy",
            "\udc00\ud800",
            "\u2028",
            "\ufeff{",
            '{"type":"user"}',
            "\\",
            '"',
            "<synthetic>",
            "user",
            "assistant",
            "tool_result",
        ]
    ),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**64, max_value=10**40),
    st.integers(max_value=-(2**63) - 1, min_value=-(10**40)),
    st.floats(),
    ODD_TEXT,
)
DAMAGE = st.one_of(
    SCALARS,
    st.recursive(SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(ODD_TEXT, c, max_size=3), max_leaves=8),
    st.builds(_deep, st.sampled_from([1, 50, 199, 200, 201, 254, 255, 300, 1000, 1024, 1025, 3000])),
    st.builds(_huge, st.sampled_from([10_000, 300_000, 2_000_000])),
)


def _paths(value, prefix=()) -> list[tuple]:
    """Every key/index path in a JSON value (its root excluded)."""
    out = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        out.append(prefix + (key,))
        out.extend(_paths(child, prefix + (key,)))
    return out


def _at(value, path):
    for key in path:
        value = value[key]
    return value


@st.composite
def damaged_record(draw, seeds=SEEDS) -> dict:
    """A seed with 1-3 of its fields (at any depth) set to a wrong value or deleted, or a
    well-known field added with one."""
    record = json.loads(json.dumps(draw(st.sampled_from(seeds))))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(record)
        op = draw(st.sampled_from(["set", "set", "delete", "add"]))
        if op == "add" or not paths:
            key = draw(
                st.sampled_from(
                    [
                        "type",
                        "sessionId",
                        "uuid",
                        "parentUuid",
                        "isSidechain",
                        "isMeta",
                        "cwd",
                        "timestamp",
                        "version",
                        "message",
                        "requestId",
                        "isApiErrorMessage",
                        "isCompactSummary",
                        "toolUseResult",
                    ]
                )
            )
            record[key] = draw(DAMAGE)
            continue
        path = draw(st.sampled_from(paths))
        parent = _at(record, path[:-1])
        if op == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(DAMAGE)
    return record


def encode(record: dict, ascii_only: bool = True) -> bytes:
    """json.dumps (which writes NaN, 30-digit integers and lone surrogates, unlike orjson), then
    the deep/huge markers expanded; ascii_only=False writes a lone surrogate as invalid UTF-8."""
    text = json.dumps(record, ensure_ascii=ascii_only, separators=(",", ":"))
    return _MARK.sub(_expand, text.encode("utf-8", "surrogatepass"))


BYTES_NO_NEWLINE = st.binary(min_size=1, max_size=8).map(lambda b: b.replace(b"\n", b"\x00"))
INSERTS = st.one_of(
    st.sampled_from(
        [b"\x00", b"\x00" * 8, b"\xff", b"\xc3", b"\xed\xa0\x80", b"\r", b"{", b"}", b'"', b"\\", b"\xef\xbb\xbf"]
    ),
    BYTES_NO_NEWLINE,
)


@st.composite
def damaged_bytes(draw, line: bytes) -> bytes:
    """A record's line with 1-3 byte-level injuries (cut, insert, overwrite; never a newline)."""
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["cut", "insert", "overwrite"]))
        at = draw(st.integers(0, len(line)))
        if op == "cut":
            line = line[:at]
        elif op == "insert":
            line = line[:at] + draw(INSERTS) + line[at:]
        else:
            line = line[:at] + draw(INSERTS) + line[at + 1 :]
    return line


# A line of the file: (kind, bytes, the record it must yield when kind is "good").
@st.composite
def file_line(draw) -> tuple[str, bytes, dict | None]:
    kind = draw(st.sampled_from(["good", "truncated", "fields", "fields", "bytes", "two", "garbage", "json"]))
    if kind == "good":
        record = draw(st.sampled_from(SEEDS))
        return kind, orjson.dumps(record), record
    if kind == "truncated":
        line = orjson.dumps(draw(st.sampled_from(SEEDS)))
        return kind, line[: draw(st.integers(0, len(line) - 1))], None
    if kind == "fields":
        return kind, encode(draw(damaged_record()), draw(st.booleans())), None
    if kind == "bytes":
        return kind, draw(damaged_bytes(orjson.dumps(draw(st.sampled_from(SEEDS))))), None
    if kind == "two":  # a resumed session appended to a file whose last line had no newline
        first, second = (encode(draw(st.one_of(st.sampled_from(SEEDS), damaged_record()))) for _ in range(2))
        return kind, first + draw(st.sampled_from([b"", b" ", b"\x00", b"\t"])) + second, None
    if kind == "json":  # JSON that is not an object, or barely one
        return (
            kind,
            draw(
                st.sampled_from(
                    [
                        b"[]",
                        b"[1,2]",
                        b"42",
                        b'"text"',
                        b"null",
                        b"true",
                        b"{}",
                        b'{"type":7}',
                        b'{"type":"user"}',
                        b'{"type":"assistant","message":[]}',
                        b"NaN",
                        b"1e999",
                        b"[" * 2000,
                        b"{}{}",
                        b"{} []",
                        b"\xef\xbb\xbf{}",
                    ]
                )
            ),
            None,
        )
    return kind, draw(st.binary(max_size=64)).replace(b"\n", b"\x00"), None


ENDINGS = st.sampled_from([b"\n", b"\n", b"\r\n", b"\x00\x00\n", b" \n"])


@st.composite
def transcript(draw) -> tuple[bytes, list[tuple[str, bytes, dict | None]]]:
    """A file's bytes and its lines; the last line may lack a newline."""
    lines = draw(st.lists(file_line(), min_size=0, max_size=10))
    parts = [line + draw(ENDINGS) for _, line, _ in lines]
    if parts and lines[-1][1] and draw(st.booleans()):
        parts[-1] = lines[-1][1]
    return b"".join(parts), lines


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _records(path: Path) -> tuple[list[dict], ParseStats]:
    stats = ParseStats()
    return list(iter_records(path, stats)), stats


def _check_session(session: Session, path: Path) -> None:
    assert isinstance(session.session_id, str) and session.session_id
    assert isinstance(session.cwd, str) and isinstance(session.started_at, str) and isinstance(session.version, str)
    assert session.parent_session_id is None or isinstance(session.parent_session_id, str)
    assert session.kind in ("main", "subagent", "compaction") and session.path == str(path)
    assert session.turns
    for turn in session.turns:
        assert isinstance(turn, Turn) and turn.speaker in ("user", "assistant", "tool")
        assert isinstance(turn.text, str) and isinstance(turn.thinking, str) and isinstance(turn.is_error, bool)
        assert turn.tool_call_id is None or isinstance(turn.tool_call_id, str)
        for call in turn.tool_calls:
            assert isinstance(call, ToolCall) and isinstance(call.id, str) and isinstance(call.name, str)
            assert isinstance(call.arguments, dict)
    line = session_line(session)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert session_line(session_from_dict(orjson.loads(line))) == line  # what the dataset build reads back


@FUZZ
@given(transcript())
def test_damaged_transcripts_never_raise_and_every_line_is_counted(scratch, case):
    data, lines = case
    path = scratch / "s.jsonl"
    path.write_bytes(data)

    records, stats = _records(path)
    assert stats.files == 1 and stats.bytes == len(data)
    physical = list(io.BytesIO(data))  # split as the reader's file iteration splits
    assert stats.lines == len(physical) == len(lines)
    assert stats.records == Counter(record_type(r) for r in records)  # each yielded record counted once

    total_records, total_skipped = Counter(), Counter()
    for raw, (kind, line, expected) in zip(physical, lines):
        one = scratch / "line.jsonl"
        one.write_bytes(raw)
        got, alone = _records(one)
        total_records.update(alone.records)
        total_skipped.update(alone.skipped)
        assert got or LINE_REASONS & set(alone.skipped), (kind, line[:200], alone.skipped)
        if kind == "good":
            assert got == [expected] and not alone.skipped
        elif kind == "truncated":
            assert not got and (alone.skipped["invalid_json"] == 1 or alone.skipped["blank_line"] == 1)
            assert set(alone.skipped) <= {"invalid_json", "blank_line", "invalid_utf8_replaced"}, alone.skipped
    assert (total_records, total_skipped) == (stats.records, stats.skipped)
    for reason in sorted(LINE_REASONS & set(stats.skipped)):
        event(f"skipped: {reason}")

    stats = ParseStats()
    sessions = list(read_sessions(path, stats))
    for kind, n in stats.records.items():
        if kind not in CHAT_TYPES:
            assert stats.skipped[kind] >= n, (kind, stats)  # more only if a skip reason has that name
    assert stats.sessions == len(sessions) and stats.turns == sum(len(s.turns) for s in sessions)
    for session in sessions:
        _check_session(session, path)
    with_sidechains = list(read_sessions(path, ParseStats(), include_sidechains=True))
    for session in with_sidechains:
        _check_session(session, path)


@FUZZ
@given(st.lists(damaged_record(), min_size=1, max_size=12), st.booleans(), st.booleans())
def test_records_with_wrong_field_types_make_well_typed_sessions(scratch, records, ascii_only, subagent):
    name = "agent-a1b2c3.jsonl" if subagent else "0000-fuzz.jsonl"
    path = scratch / name
    path.write_bytes(b"".join(encode(r, ascii_only) + b"\n" for r in records))
    stats = ParseStats()
    sessions = list(read_sessions(path, stats, include_sidechains=True))
    assert stats.lines == len(records)
    assert sum(stats.records.values()) + sum(stats.skipped[r] for r in LINE_REASONS) >= len(records)
    for session in sessions:
        _check_session(session, path)


# --- one field of a plain record, one wrong type: the documented outcome -----------------------

_NUMBERS = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False))
_LISTS = st.lists(st.integers(0, 9) | st.text(max_size=3), max_size=2)
_DICTS = st.dictionaries(st.text(max_size=3), st.integers(0, 9), max_size=2)
NOT_A_DICT = st.one_of(_NUMBERS, _LISTS, st.text(max_size=10))
NOT_STR_OR_LIST = st.one_of(_NUMBERS, _DICTS)
WRONG_FOR_STR = st.one_of(_NUMBERS, _LISTS, _DICTS)
NO_TYPE = st.one_of(WRONG_FOR_STR, st.just(""))
NOT_TRUE = st.one_of(st.none(), st.just(False), st.integers(0, 9), st.text(max_size=5), _LISTS, _DICTS)


def _single(scratch: Path, record: dict) -> tuple[list[Session], ParseStats, Path]:
    path = scratch / "11111111-fuzz-single.jsonl"
    path.write_bytes(encode(record) + b"\n")
    stats = ParseStats()
    return list(read_sessions(path, stats)), stats, path


def _plain_copy(draw, seeds=PLAIN) -> dict:
    return json.loads(json.dumps(draw(st.sampled_from(seeds))))


@FUZZ
@given(st.data())
def test_each_field_with_a_wrong_type_has_its_documented_outcome(scratch, data):
    draw = data.draw
    record = _plain_copy(draw)
    field = draw(
        st.sampled_from(
            [
                "message",
                "content",
                "block",
                "input",
                "cwd",
                "timestamp",
                "version",
                "sessionId",
                "type",
                "isSidechain",
                "uuid",
            ]
        )
    )
    content = record["message"]["content"]
    if field in ("block", "input") and not isinstance(content, list):
        field = "content"

    if field == "message":
        record["message"] = draw(NOT_A_DICT)
        sessions, stats, _ = _single(scratch, record)
        assert sessions == [] and stats.skipped["bad_message"] == 1
    elif field == "content":
        record["message"]["content"] = draw(NOT_STR_OR_LIST)
        sessions, stats, _ = _single(scratch, record)
        assert sessions == [] and stats.skipped["bad_content"] == 1
    elif field == "block":
        content.append(draw(NOT_A_DICT))
        sessions, stats, _ = _single(scratch, record)
        assert stats.skipped["block:invalid"] == 1
    elif field == "input":
        record = _plain_copy(draw, TOOL_USE)
        block = next(b for b in record["message"]["content"] if isinstance(b, dict) and b.get("type") == "tool_use")
        value = draw(st.one_of(st.none(), NOT_A_DICT, st.lists(st.text(max_size=5), max_size=3)))
        block["input"] = value
        sessions, stats, _ = _single(scratch, record)
        (session,) = sessions
        calls = [c for t in session.turns for c in t.tool_calls if c.id == block.get("id", "")]
        assert calls and calls[0].arguments == ({} if value is None else {"input": value})
    elif field == "type":
        record["type"] = draw(NO_TYPE)
        sessions, stats, _ = _single(scratch, record)
        assert sessions == [] and stats.records["no_type"] == 1 and stats.skipped["no_type"] == 1
    elif field in ("cwd", "timestamp", "version", "sessionId"):
        record[field] = draw(WRONG_FOR_STR)
        sessions, stats, path = _single(scratch, record)
        (session,) = sessions
        attr = {"cwd": "cwd", "timestamp": "started_at", "version": "version", "sessionId": "session_id"}[field]
        assert getattr(session, attr) == (path.stem if field == "sessionId" else "")
    else:  # isSidechain not True: a main-session record; uuid not a string: no duplicate check
        record[field] = draw(NOT_TRUE if field == "isSidechain" else WRONG_FOR_STR)
        record2 = json.loads(json.dumps(record))
        path = scratch / "22222222-fuzz-pair.jsonl"
        path.write_bytes(encode(record) + b"\n" + encode(record2) + b"\n")
        stats = ParseStats()
        (session,) = list(read_sessions(path, stats))
        assert stats.skipped["sidechain_inline"] == 0
        if field == "uuid":
            assert stats.skipped["duplicate_uuid"] == 0


# --- crashes hypothesis found, kept as plain regression tests ---------------------------------


def _parse_bytes(scratch: Path, data: bytes) -> tuple[list[Session], ParseStats]:
    path = scratch / "33333333-regression.jsonl"
    path.write_bytes(data)
    stats = ParseStats()
    sessions = list(read_sessions(path, stats))
    for s in sessions:
        session_line(s)
    return sessions, stats


def _reply(tool_input: bytes) -> bytes:
    return (
        b'{"type":"assistant","sessionId":"s","message":{"id":"m","content":[{"type":"tool_use","id":"t",'
        b'"name":"Bash","input":' + tool_input + b"}]}}"
    )


def test_a_line_nested_past_the_json_decoders_recursion_is_counted_too_deep(scratch):
    # was: RecursionError out of json.JSONDecoder on the slow path
    sessions, stats = _parse_bytes(scratch, b"[" * 5000 + b"\n" + b'{"a":' * 5000 + b"\n")
    assert sessions == [] and stats.skipped["too_deep"] == 2


@pytest.mark.parametrize("depth", [255, 400, 1000])
def test_a_record_nested_deeper_than_orjson_writes_is_dropped_and_counted(scratch, depth):
    # was: orjson.JSONEncodeError "Recursion limit reached" out of session_line (or a RecursionError in scrub_images)
    good = _reply(b'{"command":"ls"}').replace(b'"id":"m"', b'"id":"m0"')
    sessions, stats = _parse_bytes(scratch, good + b"\n" + _reply(b"[" * depth + b"]" * depth) + b"\n")
    (session,) = sessions
    assert [c.arguments for c in session.turns[0].tool_calls] == [{"command": "ls"}]
    assert stats.skipped["too_deep"] == 1 and stats.records["assistant"] == 1


def test_a_record_at_the_depth_limit_is_kept(scratch):
    # record, message, content, block, input: 5 levels; the list inside makes up the rest
    n = 200 - 5
    sessions, stats = _parse_bytes(scratch, _reply(b'{"a":' + b"[" * n + b"]" * n + b"}") + b"\n")
    assert len(sessions) == 1 and not stats.skipped["too_deep"]


def test_integers_beyond_64_bits_on_the_slow_path_become_floats(scratch):
    # was: orjson.JSONEncodeError "Integer exceeds 64-bit range" out of session_line, for a
    # record json (not orjson) decoded: two objects on a line, or invalid UTF-8
    big = _reply(b'{"n":123456789012345678901234567890,"m":' + b"9" * 400 + b"}")
    sessions, stats = _parse_bytes(
        scratch, big + big.replace(b'"id":"m"', b'"id":"m2"') + b"\n" + big.replace(b'"Bash"', b'"B\xffsh"') + b"\n"
    )
    (session,) = sessions
    args = [c.arguments for t in session.turns for c in t.tool_calls]
    assert args[0] == {"n": 1.2345678901234568e29, "m": None} and len(args) == 3
    assert stats.skipped["big_int_replaced"] == 3 and stats.skipped["concatenated_json_split"] == 1
