import orjson
import pytest

from gastown_assets.datasets.quality import is_tool_error, quality_issue

SYSTEM = {"role": "system", "content": "You are a polecat in Gas Town. Run `gt hook` to find your work."}


def call(call_id: str, command: str, description: str = "") -> dict:
    args = {"command": command, "description": description} if description else {"command": command}
    return {"id": call_id, "type": "function", "function": {"name": "Bash", "arguments": orjson.dumps(args).decode()}}


def assistant(text: str, *calls: dict) -> dict:
    msg = {"role": "assistant", "content": text}
    if calls:
        msg["tool_calls"] = list(calls)
    return msg


def tool(call_id: str, content: str) -> dict:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


HOOKED = (
    "🪝 Hooked: it-id26 — Reject records with an empty name\n   molecule: mol-polecat-work (it-ayrh)\n"
    "   assignee: infra-tools/polecats/dag\n   slung by: mayor (5h ago)"
)


def test_normal_row_is_kept():
    row = [
        SYSTEM,
        {"role": "user", "content": "You have work on your hook. Start."},
        assistant("", call("toolu_01", "gt hook", "Show hooked work")),
        tool("toolu_01", HOOKED),
        assistant(
            "Hooked on it-id26. I'll load the context, then make the DNS loader reject records with an empty name."
        ),
    ]
    assert quality_issue(row) is None


def test_too_short_row():
    row = [SYSTEM, {"role": "user", "content": "Anything in your inbox?"}, assistant("No mail.")]
    assert quality_issue(row) == "too_short"
    assert quality_issue(row, min_assistant_chars=5) is None


def test_tool_call_arguments_count_towards_length():
    row = [
        SYSTEM,
        {"role": "user", "content": "go"},
        assistant("", call("toolu_01", "go test ./internal/dns/...")),
        tool("toolu_01", "ok  \tdns\t0.02s"),
    ]
    assert quality_issue(row) is None


def test_error_only_row_of_failed_commands():
    row = [
        SYSTEM,
        {"role": "user", "content": "Run the tests and push."},
        assistant("Running the tests.", call("toolu_01", "go test ./...")),
        tool("toolu_01", "Exit code 1\n--- FAIL: TestLoad (0.00s)\n    load_test.go:31: empty name accepted\nFAIL"),
        assistant("Let me check the hook instead.", call("toolu_02", "gt hook")),
        tool("toolu_02", "Exit code 127\n/bin/bash: line 1: gt: command not found"),
        assistant("Both commands failed; I can't continue from here."),
    ]
    assert quality_issue(row) == "error_only"


def test_error_only_row_of_api_errors():
    row = [
        SYSTEM,
        {"role": "user", "content": "Check the refinery queue."},
        assistant('API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'),
    ]
    assert quality_issue(row) == "error_only"


def test_one_successful_tool_result_is_not_error_only():
    row = [
        SYSTEM,
        {"role": "user", "content": "Run the tests."},
        assistant("Running the tests.", call("toolu_01", "pytest -q")),
        tool("toolu_01", 'Traceback (most recent call last):\n  File "x.py", line 3\nImportError: no module named y'),
        assistant("Missing dependency; installing it and re-running.", call("toolu_02", "uv sync && pytest -q")),
        tool("toolu_02", "94 passed in 3.33s"),
        assistant("All 94 tests pass now."),
    ]
    assert quality_issue(row) is None


def test_substantive_answer_next_to_an_api_error_is_kept():
    row = [
        SYSTEM,
        {"role": "user", "content": "What does the witness do?"},
        assistant("API Error: 500 Internal server error"),
        {"role": "user", "content": "Try again."},
        assistant("The witness watches the polecats of its rig and nudges or recycles stuck ones."),
    ]
    assert quality_issue(row) is None


def test_boilerplate_only_row():
    row = [
        SYSTEM,
        {"role": "user", "content": "[Request interrupted by user]"},
        assistant("No response requested."),
        {"role": "user", "content": "Keep going."},
        assistant("  Continuing.  "),
        assistant("[Request interrupted by user]"),
    ]
    assert quality_issue(row) == "boilerplate_only"


def test_boilerplate_reason_wins_over_too_short():
    assert quality_issue([SYSTEM, {"role": "user", "content": "thanks"}, assistant("Done.")]) == "boilerplate_only"


def test_boilerplate_with_a_tool_call_is_not_boilerplate_only():
    row = [
        SYSTEM,
        {"role": "user", "content": "Continue."},
        assistant("Continuing.", call("toolu_01", "gt hook")),
        tool("toolu_01", HOOKED),
        assistant("OK"),
    ]
    assert quality_issue(row) is None


@pytest.mark.parametrize(
    "content,error",
    [
        ("Error: File does not exist.", True),
        ("<tool_use_error>String to replace not found in file.</tool_use_error>", True),
        ("Exit code 2\nmake: *** [test] Error 2", True),
        ("The user doesn't want to proceed with this tool use. The tool use was rejected.", True),
        ("errors.go\nerrors_test.go", False),  # a Glob listing, not an error
        ("     1→package dns\n     2→// returns an error when the name is empty", False),
        ("", False),
    ],
)
def test_tool_error_detection(content, error):
    assert is_tool_error(content) is error
