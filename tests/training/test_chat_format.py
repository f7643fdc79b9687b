"""One chat format everywhere: a decision row as Axolotl trains it and the prompt the replay,
the scenarios and the server send render to the same tokens up to the reply; the reply's
end-of-turn token is trained on, so the tuned model stops.

Uses the local profile's real base model (SmolLM2-135M-Instruct with the project's template) and
Axolotl's own chat_template strategy on the dataset stanza the local profile resolves."""

from __future__ import annotations

import orjson
import pytest

from gastown_assets.config import Project
from gastown_assets.datasets.build import session_rows, spec_for
from gastown_assets.datasets.dedup import Deduper
from gastown_assets.datasets.secrets import Redactor
from gastown_assets.datasets.tokens import as_trained, chat_token_counter
from gastown_assets.transcripts.model import Session, ToolCall, Turn
from gastown_assets.transcripts.store import session_line
from tests.support import CONFIG_DIR

IGNORE = -100


def _session() -> Session:
    return Session(
        "polecat-s1",
        "/sessions/polecat-s1.jsonl",
        "/gt/gastown/polecats/nux",
        [
            Turn("user", "Work your hook."),
            Turn("assistant", "Checking my hook first.", [ToolCall("toolu_01", "Bash", {"command": "gt hook"})]),
            Turn("tool", "hooked: gt-42 fix the widget", tool_call_id="toolu_01"),
            Turn(
                "assistant",
                "Closing the step.",
                [ToolCall("toolu_02", "Bash", {"command": "bd close gt-42.1", "description": "Close it"})],
            ),
            Turn("tool", "closed gt-42.1", tool_call_id="toolu_02"),
        ],
    )


@pytest.fixture(scope="module")
def rows(smollm2, tmp_path_factory):
    spec = spec_for(Project(CONFIG_DIR, "local", tmp_path_factory.mktemp("d")), "polecat", smollm2.digest)
    assert spec.shape == "decisions"
    built = session_rows(
        session_line(_session()), spec, chat_token_counter(smollm2.name_or_path), Redactor(), Deduper()
    )
    return [orjson.loads(line) for line in built.lines]


@pytest.fixture(scope="module")
def tokenizer(smollm2):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2.name_or_path)


@pytest.fixture(scope="module")
def strategy(smollm2, tokenizer, tmp_path_factory):
    from axolotl.prompt_strategies import load
    from axolotl.utils.config import normalize_cfg_datasets, validate_config
    from axolotl.utils.dict import DictDefault

    data = tmp_path_factory.mktemp("data")
    resolved = Project(CONFIG_DIR, "local", data).resolve(
        "polecat", train_path=data / "train.jsonl", val_path=data / "val.jsonl"
    )
    cfg = validate_config(DictDefault({**resolved.axolotl, "base_model": smollm2.name_or_path}))
    normalize_cfg_datasets(cfg)
    return load(cfg.datasets[0].type, tokenizer, cfg, cfg.datasets[0])


def test_a_decision_row_and_its_eval_prompt_share_every_token_up_to_the_reply(rows, tokenizer):
    row = rows[-1]["messages"]  # the second decision, with the first in its context
    assert row[-1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "toolu_02",
                "type": "function",
                "function": {"name": "Bash", "arguments": '{"command":"bd close gt-42.1"}'},
            }
        ],
    }  # the description left out
    full = tokenizer.apply_chat_template(as_trained(row), tokenize=True, return_dict=True)["input_ids"]
    prompt = tokenizer.apply_chat_template(
        as_trained(row[:-1]), add_generation_prompt=True, tokenize=True, return_dict=True
    )["input_ids"]
    assert full[: len(prompt)] == prompt
    assert tokenizer.decode(full[len(prompt) :]) == (
        '<tool_call>\n{"name": "Bash", "arguments": {"command": "bd close gt-42.1"}}\n</tool_call><|im_end|>\n'
    )


def test_axolotl_trains_the_decision_and_its_end_of_turn_only(rows, tokenizer, strategy):
    row = rows[-1]
    out = strategy.tokenize_prompt(row)
    ids, labels = out["input_ids"], out["labels"]
    trained = tokenizer.decode([t for t, label in zip(ids, labels) if label != IGNORE])
    assert (
        trained == '<tool_call>\n{"name": "Bash", "arguments": {"command": "bd close gt-42.1"}}\n</tool_call><|im_end|>'
    )
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert tokenizer.eos_token_id == end and labels[ids.index(end, len(ids) - 3)] == end  # the model learns to stop
    assert "Checking my hook first." in tokenizer.decode(ids)  # the context turn is there, untrained
    assert "gt hook" not in trained


def test_context_turns_are_marked_untrained_in_the_row_itself(rows):
    for row in rows:
        *context, decision = row["messages"]
        assert context[0]["role"] == "system" and "training" not in decision
        assert all(m.get("training") is False for m in context if m["role"] == "assistant")
    assert [r["messages"][-1]["tool_calls"][0]["function"]["name"] for r in rows] == ["Bash", "Bash"]
