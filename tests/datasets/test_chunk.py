from collections import Counter

from gastown_assets.datasets.chunk import chunks, units


def _count(messages):
    """A stand-in token count: one token per word, plus 2 per message (role + end marker)."""
    total = 0
    for m in messages:
        total += 2 + len(m.get("content", "").split())
        total += sum(3 for _ in m.get("tool_calls", []))
    return total


def _words(conversations):
    return [_count(c) for c in conversations]


def _call(i):
    return {
        "role": "assistant",
        "content": f"step {i}",
        "tool_calls": [{"id": f"t{i}", "type": "function", "function": {"name": "Bash", "arguments": "{}"}}],
    }


def _result(i):
    return {"role": "tool", "tool_call_id": f"t{i}", "content": "ok " * 5}


SYSTEM = {"role": "system", "content": "you are a polecat"}


def test_tool_call_and_its_result_stay_in_one_row():
    messages = [{"role": "user", "content": "go"}]
    for i in range(20):
        messages += [_call(i), _result(i)]
    rows = [row for row, _ in chunks(SYSTEM, messages, 40, _words, Counter())]
    assert len(rows) > 1
    for row in rows:
        calls = {c["id"] for m in row if m["role"] == "assistant" for c in m.get("tool_calls", [])}
        results = {m["tool_call_id"] for m in row if m["role"] == "tool"}
        assert results <= calls and calls == results


def test_every_row_fits_the_budget_and_opens_with_the_system_prompt():
    messages = [{"role": "user", "content": "go"}] + [m for i in range(30) for m in (_call(i), _result(i))]
    out = list(chunks(SYSTEM, messages, 50, _words, Counter()))
    assert all(tokens <= 50 and tokens == _count(row) for row, tokens in out)
    assert all(row[0] == SYSTEM for row, _ in out)
    # nothing lost: every tool call appears in exactly one row
    seen = [c["id"] for row, _ in out for m in row for c in m.get("tool_calls", [])]
    assert sorted(seen) == sorted(f"t{i}" for i in range(30))


def test_oversized_unit_and_rows_without_assistant_are_dropped_and_counted():
    dropped = Counter()
    big = {"role": "user", "content": "word " * 500}
    out = list(chunks(SYSTEM, [big, {"role": "user", "content": "hi"}], 50, _words, dropped))
    assert out == []
    assert dropped == Counter({"unit_over_budget": 1, "too_few_assistant_turns": 1})


def test_overlap_repeats_the_last_unit_of_a_row_at_the_start_of_the_next():
    messages = [{"role": "user", "content": "go"}] + [m for i in range(12) for m in (_call(i), _result(i))]
    rows = [row for row, _ in chunks(SYSTEM, messages, 60, _words, Counter(), overlap_units=1)]
    assert len(rows) > 2
    for prev, nxt in zip(rows, rows[1:]):
        assert nxt[1] == prev[-2] and nxt[2] == prev[-1]  # the call and its result, carried over


def test_units_group_tool_results_with_their_call():
    msgs = [{"role": "user", "content": "x"}, _call(1), _result(1), {"role": "assistant", "content": "done"}]
    assert [len(u) for u in units(msgs)] == [1, 2, 1]
