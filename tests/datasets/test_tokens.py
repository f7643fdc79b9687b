"""Token counts come from the same rendering Axolotl trains on."""

import json

from gastown_assets.datasets.tokens import as_trained, chat_token_counter
from gastown_assets.training.tiny_model import train_tokenizer

ROW = [
    {"role": "system", "content": "You are a polecat."},
    {"role": "user", "content": "Work your hook."},
    {"role": "assistant", "content": "Checking.", "tool_calls": [
        {"id": "t1", "type": "function", "function": {"name": "Bash", "arguments": json.dumps({"command": "gt hook"}, separators=(",", ":"))}}]},
    {"role": "tool", "tool_call_id": "t1", "content": "Hooked: wa-4k2x"},
    {"role": "assistant", "content": "Running gt done."},
]


def test_counter_matches_transformers_rendering_of_parsed_arguments(tmp_path):
    tokenizer = train_tokenizer(["gt hook bd close wa-4k2x Working on it"] * 20, 600)
    tokenizer.save_pretrained(tmp_path)
    text = tokenizer.apply_chat_template(as_trained(ROW), tokenize=False)
    assert '"arguments": {"command": "gt hook"}' in text  # parsed, as Axolotl does before rendering
    expected = len(tokenizer(text, add_special_tokens=False)["input_ids"])
    assert chat_token_counter(str(tmp_path))([ROW]) == [expected]


def test_rows_keep_their_json_string_arguments():
    as_trained(ROW)
    assert isinstance(ROW[2]["tool_calls"][0]["function"]["arguments"], str)
