"""What the blocking dataset checks detect when something did slip through."""

import json

from gastown_assets.datasets.checks import scan_file, sessions_in_both


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _row(session, text):
    return {"session_id": session, "chunk": 0, "messages": [{"role": "assistant", "content": text}]}


def test_rescan_finds_a_secret_left_in_a_dataset_file(tmp_path):
    leaked = "export GITHUB_TOKEN=ghp_" + "x7Rq2" * 7 + "A"
    path = _write(tmp_path / "train.jsonl", [_row("a", "fine"), _row("b", leaked)])
    found = scan_file(path)
    assert found and "ghp_" not in json.dumps(dict(found))  # kinds only, never the value
    assert not scan_file(_write(tmp_path / "clean.jsonl", [_row("a", "gt hook && bd close wa-4k2x")]))


def test_leak_check_finds_a_session_in_both_files(tmp_path):
    train = _write(tmp_path / "train.jsonl", [_row("s1", "x"), _row("s2", "y")])
    val = _write(tmp_path / "val.jsonl", [_row("s2", "z"), _row("s3", "w")])
    assert sessions_in_both(train, val) == {"s2"}
