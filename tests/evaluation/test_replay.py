"""Replay of held-out decisions: parsing a reply's first call, the metrics, the sample."""

import pytest

from gastown_assets.evaluation.replay import (
    CallComplete,
    DecisionPoint,
    Reply,
    command_key,
    decision_points,
    first_call,
    sample,
    score,
)

HOOK = {"name": "Bash", "arguments": {"command": "gt hook"}}


def test_first_call_is_read_from_the_reply_even_when_generation_stopped_at_its_end():
    assert first_call('<tool_call>\n{"name": "Bash", "arguments": {"command": "gt hook"}}') == HOOK
    assert (
        first_call(
            'Checking.\n<tool_call>\n{"name": "Bash", "arguments": {"command": "gt hook"}}\n</tool_call>'
            '<tool_call>{"name": "Read", "arguments": {}}</tool_call>'
        )
        == HOOK
    )
    assert first_call('<tool_call>{"name": "Bash", "arguments": "{\\"command\\": \\"gt hook\\"}"}') == HOOK


@pytest.mark.parametrize(
    "reply",
    [
        "I will run gt hook now.",  # prose names a command but calls nothing
        '<tool_call>\n{"name": "Bash", "arguments": {"command": "gt ho',  # cut off mid-call
        '<tool_call>\n{"name": "Bash"}',  # no arguments
        '<tool_call>\n{"name": "Bash", "arguments": ["gt", "hook"]}',  # arguments not an object
        '<tool_call>\n{"name": 7, "arguments": {}}',
        "<tool_call>\n[1, 2]",
    ],
)
def test_a_reply_without_a_well_formed_call_does_not_parse(reply):
    assert first_call(reply) is None


def test_command_accuracy_compares_the_first_two_words_of_bash_and_the_tool_otherwise():
    assert command_key({"name": "Bash", "arguments": {"command": "bd close gt-1.2 gt-1.3"}}) == ("Bash", "bd", "close")
    assert command_key({"name": "Bash", "arguments": {"command": "gt mail inbox"}}) == ("Bash", "gt", "mail")
    assert command_key({"name": "Bash", "arguments": {}}) == ("Bash",)
    assert command_key({"name": "Read", "arguments": {"file_path": "/a"}}) == ("Read",)


def test_metrics_per_model():
    points = [
        DecisionPoint("s", [], HOOK),
        DecisionPoint("s", [], {"name": "Bash", "arguments": {"command": "bd close x"}}),
        DecisionPoint("s", [], {"name": "Read", "arguments": {"file_path": "/a"}}),
        DecisionPoint("s", [], HOOK),
    ]
    replies = [
        Reply("", HOOK, 1.0),
        Reply("", {"name": "Bash", "arguments": {"command": "bd show x"}}, 2.0),
        Reply("", {"name": "Read", "arguments": {"file_path": "/b"}}, 3.0),
        Reply("prose", None, 4.0),
    ]
    m = score(points, replies)
    assert (m.points, m.parse_rate, m.tool_accuracy, m.command_accuracy) == (4, 0.75, 0.75, 0.5)
    assert (m.latency_p50_s, m.latency_p95_s) == (2.5, 4.0)


def test_points_come_from_trained_calls_only():
    decision_row = {
        "session_id": "a",
        "messages": [
            {"role": "system", "content": "s"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": {"name": "Bash", "arguments": '{"command":"gt hook"}'}}],
                "training": False,
            },
            {"role": "tool", "content": "ok"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": {"name": "Read", "arguments": '{"file_path":"/x"}'}}],
            },
        ],
    }
    chunk_row = {
        "session_id": "b",
        "messages": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": "ok",
                "tool_calls": [{"function": {"name": "Bash", "arguments": '{"command":"ls"}'}}],
            },
            {"role": "tool", "content": "a"},
            {"role": "assistant", "content": "done"},
        ],
    }
    points = decision_points([decision_row, chunk_row])
    assert [(p.session_id, p.call["name"], len(p.context)) for p in points] == [("a", "Read", 3), ("b", "Bash", 2)]


def test_the_sample_is_stable_and_spread_over_sessions():
    points = [DecisionPoint(f"s{i // 10}", [], HOOK) for i in range(100)]
    picked = sample(points, 12)
    assert picked == sample(points, 12) and len(picked) == 12
    assert len({p.session_id for p in picked}) >= 5  # not the first session's first twelve
    assert sample(points, 500) == points


def test_generation_stops_once_the_first_call_is_complete(smollm2):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2.name_or_path)
    prompt = tok("<|im_start|>assistant\n", return_tensors="pt")["input_ids"]
    stop = CallComplete(tok, prompt.shape[1])

    def at(text):
        import torch

        ids = torch.cat([prompt, tok(text, return_tensors="pt", add_special_tokens=False)["input_ids"]], dim=1)
        return bool(stop(ids, None)[0])

    assert not at('<tool_call>\n{"name": "Bash", "arguments": {"command": "gt')
    assert at('<tool_call>\n{"name": "Bash", "arguments": {"command": "gt hook"}}')
