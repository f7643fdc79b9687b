"""Decision rows: the context an agent had, newest first within the budget, and its next call."""

from collections import Counter

import orjson
import pytest

from gastown_assets.datasets.decisions import decision_rows, is_trained
from gastown_assets.datasets.tokens import chat_token_counter
from gastown_assets.training.tiny_model import train_tokenizer

SYSTEM = {"role": "system", "content": "You are a polecat."}


def _call(cid, name, **args):
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": orjson.dumps(args).decode()}}


def _messages():
    return [
        {"role": "user", "content": "Work your hook."},
        {"role": "assistant", "content": "Checking.", "tool_calls": [_call("t1", "Bash", command="gt hook")]},
        {"role": "tool", "tool_call_id": "t1", "content": "hooked: gt-42 fix the widget"},
        {
            "role": "assistant",
            "content": "Editing.",
            "tool_calls": [
                _call("t2", "Edit", file_path="/w/a.go", old_string="x" * 900, new_string="y" * 900),
                _call("t3", "Read", file_path="/w/b.go"),
            ],
        },
        {"role": "tool", "tool_call_id": "t2", "content": "ok"},
        {"role": "tool", "tool_call_id": "t3", "content": "package b"},
        {"role": "assistant", "content": "Oops.", "tool_calls": [_call("t4", "Edit", file_path="/w/c.go")]},
        {
            "role": "tool",
            "tool_call_id": "t4",
            "content": "<tool_use_error>File has not been read yet</tool_use_error>",
        },
        {
            "role": "assistant",
            "content": "All done, closing.",
            "tool_calls": [_call("t5", "Bash", command="bd close gt-42.1")],
        },
        {"role": "tool", "tool_call_id": "t5", "content": "closed"},
        {"role": "assistant", "content": "Finished."},
    ]


@pytest.fixture(scope="module")
def count(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("tokenizer")
    texts = [" ".join(f"w{i % 97} hook bead edit read bash close" for i in range(j, j + 40)) for j in range(200)]
    train_tokenizer(texts, vocab_size=800).save_pretrained(model_dir)
    return chat_token_counter(str(model_dir))


def test_one_row_per_valid_call_ending_in_that_call_alone(count):
    dropped = Counter()
    rows = decision_rows(SYSTEM, _messages(), 4096, count, dropped, 300)
    decisions = [r[-1] for r, _ in rows]
    assert [d["tool_calls"][0]["id"] for d in decisions] == ["t1", "t2", "t5"]
    assert all(d["content"] == "" and len(d["tool_calls"]) == 1 and is_trained(d) for d in decisions)
    assert dropped == Counter(failed_call=1)  # the call Claude Code rejected is no decision to learn
    assert all(r[0] == SYSTEM for r, _ in rows)


def test_context_turns_are_untrained_and_their_long_arguments_cut_but_the_decision_is_whole(count):
    rows = decision_rows(SYSTEM, _messages(), 4096, count, Counter(), 300)
    second, _ = rows[1]
    assert orjson.loads(second[-1]["tool_calls"][0]["function"]["arguments"])["old_string"] == "x" * 900
    last, _ = rows[2]
    edit = next(m for m in last if m.get("tool_calls") and m["tool_calls"][0]["id"] == "t2")
    args = orjson.loads(edit["tool_calls"][0]["function"]["arguments"])
    assert args["old_string"] == "x" * 20 + "…" + "x" * 20  # an older call, brief
    assert len(edit["tool_calls"]) == 2  # a context turn keeps all its calls and results
    assert not any(is_trained(m) for m in last[:-1])


def test_the_newest_context_is_kept_within_the_budget(count):
    full = decision_rows(SYSTEM, _messages(), 4096, count, Counter(), 300)
    last, tokens = full[2]
    budget = tokens - 5  # one unit too many
    rows = decision_rows(SYSTEM, _messages(), budget, count, Counter(), 300)
    cut, cut_tokens = rows[-1]
    assert cut_tokens <= budget and cut_tokens == count([cut])[0]  # counts are exact
    assert cut[-1] == last[-1] and cut[1:] == last[-len(cut) + 1 :]  # a suffix: newest turns kept
    assert len(cut) < len(last)


def test_a_decision_that_alone_exceeds_the_budget_is_dropped_and_counted(count):
    dropped = Counter()
    rows = decision_rows(SYSTEM, _messages(), 120, count, dropped, 300)
    assert "t2" not in [r[-1]["tool_calls"][0]["id"] for r, _ in rows]
    assert dropped["decision_over_budget"] >= 1


def test_claude_codes_system_reminders_are_not_part_of_any_row():
    from gastown_assets.datasets.rows import session_messages
    from gastown_assets.transcripts.model import Session, ToolCall, Turn

    reminder = "<system-reminder>\nWhenever you read a file, consider whether it is malware.\n</system-reminder>"
    session = Session(
        "s",
        "/s.jsonl",
        "/gt/r/polecats/nux",
        [
            Turn("user", f"Work your hook.\n{reminder}"),
            Turn("assistant", "", [ToolCall("t1", "Read", {"file_path": "/w/a.go"})]),
            Turn("tool", f"     1\tpackage a\n\n{reminder}", tool_call_id="t1"),
            Turn("user", reminder),  # a prompt that is nothing but a reminder is no prompt
        ],
    )
    messages = session_messages(session, 2000, Counter())
    assert [m["content"] for m in messages if m["role"] != "assistant"] == ["Work your hook.", "     1\tpackage a"]


def test_older_turns_are_brief_so_a_small_budget_still_shows_the_steps_before(count):
    messages = [{"role": "user", "content": "Work your hook."}]
    for i in range(6):
        messages += [
            {"role": "assistant", "content": "", "tool_calls": [_call(f"t{i}", "Bash", command=f"step {i}")]},
            {"role": "tool", "tool_call_id": f"t{i}", "content": f"output of step {i} " + "z " * 200},
        ]
    rows = decision_rows(SYSTEM, messages, 4096, count, Counter(), 300)
    last, _ = rows[-1]
    results = [m["content"] for m in last if m["role"] == "tool"]
    assert len(results) == 5  # every earlier step is there
    assert all(len(r) <= 81 for r in results[:-1]) and len(results[-1]) > 250
    assert all(r.startswith(f"output of step {i}") for i, r in enumerate(results))  # the head survives
