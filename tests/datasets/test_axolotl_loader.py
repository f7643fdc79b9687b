"""Axolotl's own `chat_template` strategy on our rows, with the dataset stanza our configs resolve.

The config goes through what `axolotl train` does before tokenizing (validate_config, then
normalize_cfg_datasets; normalize_config is skipped: it loads the model's config, and only the
tokenizer matters here). The tokenizer is the tiny model's, trained in a few seconds on short
texts; the model itself is never built. Rows come from our own session_messages, prefixed with
the role's system prompt and written as train_dataset writes them, so these tests guard the real
format: OpenAI-style messages with JSON-string tool-call arguments, plus the `session_id` and
`chunk` keys every row carries.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import orjson
import pytest

from gastown_assets.config import Project
from gastown_assets.datasets.rows import session_messages
from gastown_assets.training.tiny_model import CHAT_TEMPLATE, train_tokenizer
from gastown_assets.transcripts.model import Session, ToolCall, Turn
from tests.support import CONFIG_DIR

ROLE = "polecat"
SYSTEM = Project(CONFIG_DIR, "tiny", Path("/data")).role(ROLE).facts.system_prompt.strip()
USER = "Work your hook."
FIRST_TEXT = "Checking my hook first."
FIRST_RESULT = "hooked: gt-42 fix the widget"
SECOND_TEXT = "Closing the step."
SECOND_RESULT = "closed gt-42.1"
FINAL = "Running gt done."
IGNORE = -100

# What the assistant turns render to, end marker included: exactly what must be trained on.
ASSISTANT_SPANS = [
    f'{FIRST_TEXT}\n<tool_call>\n{{"name": "Bash", "arguments": {{"command": "gt hook"}}}}\n</tool_call><|im_end|>',
    f'{SECOND_TEXT}\n<tool_call>\n{{"name": "Bash", "arguments": {{"command": "bd close gt-42.1"}}}}\n</tool_call><|im_end|>',
    f"{FINAL}<|im_end|>",
]


def _session(session_id: str = "polecat-s1") -> Session:
    return Session(
        session_id,
        f"/sessions/{session_id}.jsonl",
        "/gt/gastown/polecats/nux",
        [
            Turn("user", USER),
            Turn("assistant", FIRST_TEXT, [ToolCall("toolu_01", "Bash", {"command": "gt hook"})]),
            Turn("tool", FIRST_RESULT, tool_call_id="toolu_01"),
            Turn("assistant", SECOND_TEXT, [ToolCall("toolu_02", "Bash", {"command": "bd close gt-42.1"})]),
            Turn("tool", SECOND_RESULT, tool_call_id="toolu_02"),
            Turn("assistant", FINAL),
        ],
    )


def _messages(session: Session) -> list[dict]:
    return [{"role": "system", "content": SYSTEM}, *session_messages(session, 2000, Counter())]


def _row(session: Session | None = None, chunk: int = 0) -> dict:
    """One train.jsonl row, shaped as the train_dataset asset writes it."""
    session = session or _session()
    return {"session_id": session.session_id, "chunk": chunk, "messages": _messages(session)}


@pytest.fixture(scope="module")
def tokenizer():
    words = [
        "polecat",
        "hook",
        "bead",
        "worktree",
        "commit",
        "push",
        "branch",
        "witness",
        "mayor",
        "gt",
        "bd",
        "done",
        "close",
        "molecule",
        "step",
        "tool",
        "call",
        "response",
        "command",
        "output",
        "the",
        "a",
        "of",
        "to",
        "run",
        "and",
        "is",
        "ok",
        "assistant",
        "user",
        "system",
    ]
    texts = [" ".join(words[(i * 7 + j) % len(words)] for j in range(12)) + f" {i}." for i in range(300)]
    return train_tokenizer(texts, vocab_size=1024)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A train.jsonl of two rows: the one above, and a session without tool calls (so the JSON
    loader has to merge differing message schemas, as it does on real data)."""
    out = tmp_path_factory.mktemp("datasets")
    plain = Session(
        "polecat-s2",
        "/sessions/polecat-s2.jsonl",
        "/gt/gastown/polecats/nux",
        [
            Turn("user", "Anything on your hook?"),
            Turn("assistant", "Nothing hooked; mailing the witness."),
        ],
    )
    rows = [_row(), _row(plain, chunk=3)]
    (out / "train.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    (out / "val.jsonl").write_bytes(b"")
    return out


@pytest.fixture(scope="module")
def cfg(data_dir):
    from axolotl.utils.config import normalize_cfg_datasets, validate_config
    from axolotl.utils.dict import DictDefault

    resolved = Project(CONFIG_DIR, "tiny", data_dir).resolve(
        ROLE, train_path=data_dir / "train.jsonl", val_path=data_dir / "val.jsonl"
    )
    cfg = validate_config(DictDefault(resolved.axolotl))
    normalize_cfg_datasets(cfg)
    return cfg


@pytest.fixture(scope="module")
def strategy(tokenizer, cfg):
    from axolotl.prompt_strategies import load

    ds_cfg = cfg.datasets[0]
    loaded = load(ds_cfg.type, tokenizer, cfg, ds_cfg)
    assert loaded is not None, f"Axolotl found no prompt strategy for type {ds_cfg.type!r}"
    return loaded


@pytest.fixture(scope="module")
def tokenized(strategy):
    return strategy.tokenize_prompt(_row())


def _labelled_spans(ids: list[int], labels: list[int]) -> list[list[int]]:
    spans, current = [], []
    for token, label in zip(ids, labels):
        if label != IGNORE:
            current.append(token)
        elif current:
            spans.append(current)
            current = []
    if current:
        spans.append(current)
    return spans


def _turn_roles(tokenizer, ids: list[int]) -> list[str | None]:
    """For each position, the role named after the `<|im_start|>` of the turn it lies in
    (its `<|im_end|>` included); None between turns."""
    start = tokenizer.convert_tokens_to_ids("<|im_start|>")
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    roles: list[str | None] = []
    role = None
    for i, token in enumerate(ids):
        if token == start:
            role = tokenizer.decode(ids[i + 1 : i + 24]).split("\n")[0]
        roles.append(role)
        if token == end:
            role = None
    return roles


def test_resolved_stanza_loads_axolotls_chat_template_strategy_with_our_template(strategy, cfg):
    from axolotl.prompt_strategies.chat_template import ChatTemplateStrategy

    assert isinstance(strategy, ChatTemplateStrategy)
    assert strategy.prompter.chat_template == CHAT_TEMPLATE  # tokenizer_default: the tiny model's own
    assert strategy.roles_to_train == ["assistant"]
    assert (strategy.train_on_eos, strategy.train_on_eot) == ("turn", "turn")
    assert strategy.train_on_inputs is False and cfg.sequence_len == 1024
    assert "tool_calls" in strategy.prompter.chat_template_msg_variables


def test_axolotl_renders_our_row_with_tool_call_arguments_as_json_objects(tokenizer, tokenized):
    row = _row()
    args = row["messages"][2]["tool_calls"][0]["function"]["arguments"]
    assert isinstance(args, str) and json.loads(args) == {"command": "gt hook"}  # rows carry a JSON string

    ids = tokenized["input_ids"]
    assert len(tokenized["labels"]) == len(ids) == len(tokenized["attention_mask"])
    text = tokenizer.decode(ids)
    assert f"<|im_start|>system\n{SYSTEM}<|im_end|>" in text
    assert f"<|im_start|>user\n{USER}<|im_end|>" in text
    # Rows hold the compact '{"command":"gt hook"}'; the spaced form only appears when Axolotl
    # has parsed the string back into a mapping and the template's tojson has rendered it.
    assert '<tool_call>\n{"name": "Bash", "arguments": {"command": "gt hook"}}\n</tool_call>' in text
    assert '"arguments": {"command": "bd close gt-42.1"}' in text
    assert '"arguments": "{' not in text and '\\"command\\"' not in text  # never double-encoded
    assert f"<tool_response>\n{FIRST_RESULT}\n</tool_response>" in text
    assert f"<tool_response>\n{SECOND_RESULT}\n</tool_response>" in text
    assert text.endswith(f"<|im_start|>assistant\n{FINAL}<|im_end|>\n")


def test_axolotl_chat_template_trains_only_on_assistant_turns(tokenizer, tokenized):
    ids, labels = tokenized["input_ids"], tokenized["labels"]
    assert all(label in (IGNORE, token) for token, label in zip(ids, labels))

    roles = _turn_roles(tokenizer, ids)
    outside = [
        (i, tokenizer.decode([ids[i]]), roles[i])
        for i, label in enumerate(labels)
        if label != IGNORE and roles[i] != "assistant"
    ]
    assert not outside, f"labelled tokens outside assistant turns: {outside}"

    spans = [tokenizer.decode(span) for span in _labelled_spans(ids, labels)]
    assert spans == ASSISTANT_SPANS
    trained = "".join(spans)
    assert FINAL in trained and '{"name": "Bash", "arguments": {"command": "gt hook"}}' in trained
    for untrained in (
        SYSTEM,
        "You are a polecat of a Gas Town",
        USER,
        FIRST_RESULT,
        SECOND_RESULT,
        "<tool_response>",
        "<|im_start|>",
    ):
        assert untrained not in trained


def test_assistant_turn_end_is_trained_and_system_user_and_tool_turn_ends_are_not(tokenizer, tokenized):
    ids, labels = tokenized["input_ids"], tokenized["labels"]
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    roles = _turn_roles(tokenizer, ids)
    ends = [(roles[i], labels[i] != IGNORE) for i, token in enumerate(ids) if token == end]
    # system, user, assistant, tool results (rendered as a user turn), assistant, tool results, assistant
    assert ends == [
        ("system", False),
        ("user", False),
        ("assistant", True),
        ("user", False),
        ("assistant", True),
        ("user", False),
        ("assistant", True),
    ]


def test_extra_row_keys_session_id_and_chunk_are_ignored(strategy):
    with_keys = _row()
    assert {"session_id", "chunk"} <= set(with_keys)
    bare = {"messages": _messages(_session())}
    out, out_bare = strategy.tokenize_prompt(with_keys), strategy.tokenize_prompt(bare)
    assert set(out) == {"input_ids", "labels", "attention_mask"}
    assert out == out_bare


def test_train_jsonl_tokenizes_through_axolotls_dataset_wrapper(
    tokenizer,
    cfg,
    strategy,
    tokenized,
    data_dir,
    tmp_path,
):
    """A train.jsonl of our rows, loaded and mapped the way `axolotl train` does for a local
    json file and a loaded strategy (its load_dataset call, then wrap_dataset_for_tokenized_prompt:
    Arrow merges the rows' schemas filling missing keys with nulls, a batched map, every source
    column removed), gives the same tokens and labels as the single row above."""
    from axolotl.datasets import wrap_dataset_for_tokenized_prompt
    from datasets import load_dataset

    ds_cfg = cfg.datasets[0]
    assert Path(ds_cfg.path) == data_dir / "train.jsonl" and ds_cfg.ds_type == "json"
    raw = load_dataset("json", data_files=ds_cfg.path, split="train", cache_dir=str(tmp_path))
    assert set(raw.column_names) == {"session_id", "chunk", "messages"}
    assert raw["chunk"] == [0, 3]

    wrapped = wrap_dataset_for_tokenized_prompt(strategy, raw)

    assert set(wrapped.column_names) == {"input_ids", "labels", "attention_mask"}
    assert len(wrapped) == 2
    assert wrapped[0]["input_ids"] == tokenized["input_ids"]
    assert wrapped[0]["labels"] == tokenized["labels"]
    plain = [tokenizer.decode(s) for s in _labelled_spans(wrapped[1]["input_ids"], wrapped[1]["labels"])]
    assert plain == ["Nothing hooked; mailing the witness.<|im_end|>"]
