"""Token counts come from the same rendering Axolotl trains on."""

import json

from gastown_assets.datasets.tokens import as_trained, chat_token_counter
from gastown_assets.training.tiny_model import train_tokenizer

ROW = [
    {"role": "system", "content": "You are a polecat."},
    {"role": "user", "content": "Work your hook."},
    {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "t1",
                "type": "function",
                "function": {"name": "Bash", "arguments": json.dumps({"command": "gt hook"}, separators=(",", ":"))},
            }
        ],
    },
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


def test_the_template_sandbox_answers_as_jinjas_own():
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from gastown_assets.datasets.tokens import _environment

    ours, stock = _environment(), ImmutableSandboxedEnvironment()
    message = {"role": "user", "content": "hi", "items": "shadowed by dict.items", "_private": "x"}
    for source in (
        "{{ m.role }}/{{ m['content'] }}/{{ m.missing is defined }}",
        "{{ m.items is callable }}",
        "{{ m._private is defined }}",
        "{{ m.get('role') }}",
        "{{ m.__class__ is defined }}",
    ):
        assert ours.from_string(source).render(m=message) == stock.from_string(source).render(m=message), source
    for source in ("{{ m.update({'role': 'x'}) }}", "{{ m.__class__.__init__.__globals__ }}"):
        for env in (ours, stock):
            try:
                env.from_string(source).render(m=message)
            except jinja2.exceptions.SecurityError:
                continue
            raise AssertionError(f"{source} rendered")
