"""The sample-transcript generator (tools/samples): deterministic, its output committed as generated, well formed."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from gastown_assets.samples import PLANTED_SECRETS, SESSIONS_DIR
from tools.samples import generate

ROLE_PATTERNS = [
    ("polecat", re.compile(r"/polecats/[^/]+")),
    ("crew", re.compile(r"/crew/[^/]+")),
    ("witness", re.compile(r"/witness(/|$)")),
    ("refinery", re.compile(r"/refinery(/|$)")),
    ("deacon", re.compile(r"/deacon(/|$)")),
    ("mayor", re.compile(r"/mayor(/|$)")),
]
EXPECTED_COUNTS = {"polecat": 80, "crew": 30, "mayor": 20, "deacon": 20, "witness": 20, "refinery": 20, None: 2}
TOWNS = ("/home/gt/gt", "/home/ubuntu/gt", "/Users/sam/gt")
LAYOUT = {
    "polecat": re.compile(r"^(?P<town>.+)/(?P<rig>[a-z]+(-[a-z]+)+)/polecats/[a-z]+(/(?P=rig))?$"),
    "crew": re.compile(r"^(?P<town>.+)/[a-z]+(-[a-z]+)+/crew/[a-z]+$"),
    "witness": re.compile(r"^(?P<town>.+)/[a-z]+(-[a-z]+)+/witness$"),
    "refinery": re.compile(r"^(?P<town>.+)/[a-z]+(-[a-z]+)+/refinery/rig$"),
    "deacon": re.compile(r"^(?P<town>.+)/deacon(/dogs/[a-z]+)?$"),
    "mayor": re.compile(r"^(?P<town>.+)/mayor$"),
}
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SECRET_PATTERNS = [
    re.compile(r"sk-ant-api03-[A-Za-z0-9_-]{20,}"),
    re.compile(r"ghp_[A-Za-z0-9]{36}"),
    re.compile(r"AKIA[A-Z0-9]{16}"),
    re.compile(r"hf_[A-Za-z0-9]{30,}"),
    re.compile(r"postgres://[^:\s]+:[^@\s]+@[^\s\"\\]+"),
]


def role_of(cwd: str) -> str | None:
    for role, pat in ROLE_PATTERNS:
        if pat.search(cwd):
            return role
    return None


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    """A fresh generation: <tmp>/sessions plus <tmp>/planted_secrets.json."""
    out = tmp_path_factory.mktemp("gen_a") / "sessions"
    generate.write(out)
    return out


@pytest.fixture(scope="module")
def files(fresh) -> dict[str, list[dict]]:
    """Every file of the fresh generation, parsed line by line."""
    parsed = {}
    for rel, data in tree(fresh).items():
        text = data.decode("utf-8")
        assert text.endswith("\n"), rel
        parsed[rel] = [json.loads(line) for line in text.splitlines()]
    return parsed


def sessions(files):
    """Top-level session files only (``<escaped-cwd>/<sessionId>.jsonl``)."""
    return {rel: recs for rel, recs in files.items() if rel.count("/") == 1}


def test_generator_is_deterministic(fresh, tmp_path):
    other = tmp_path / "sessions"
    generate.write(other)
    assert tree(other) == tree(fresh)
    assert (tmp_path / "planted_secrets.json").read_bytes() == (fresh.parent / "planted_secrets.json").read_bytes()


def test_committed_files_equal_fresh_generation(fresh):
    committed, generated = tree(SESSIONS_DIR), tree(fresh)
    assert sorted(committed) == sorted(generated), "file set differs: rerun python -m tools.samples.generate"
    changed = [rel for rel in generated if committed[rel] != generated[rel]]
    assert not changed, f"hand-edited or stale sample files: {changed[:5]}"
    assert PLANTED_SECRETS.read_bytes() == (fresh.parent / "planted_secrets.json").read_bytes()


def test_rewrite_replaces_out_dir_atomically(tmp_path):
    out = tmp_path / "sessions"
    (out / "stale").mkdir(parents=True)
    (out / "stale" / "old.jsonl").write_text("{}\n")
    generate.main([str(out)])
    assert not (out / "stale").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["planted_secrets.json", "sessions"]


def test_every_line_is_json_object(files):
    assert len(files) == 193  # 192 sessions + 1 subagent transcript
    for rel, recs in files.items():
        assert recs, rel
        assert all(isinstance(r, dict) and "type" in r for r in recs), rel


def test_layout_session_ids_and_cwd(files):
    for rel, recs in sessions(files).items():
        folder, name = rel.split("/")
        sid = name.removesuffix(".jsonl")
        assert UUID4.match(sid), rel
        cwds = {r["cwd"] for r in recs if "cwd" in r}
        assert len(cwds) == 1, rel
        (cwd,) = cwds
        assert folder == re.sub(r"[^A-Za-z0-9]", "-", cwd)
        assert {r["sessionId"] for r in recs if "sessionId" in r} == {sid}


def test_role_counts_and_layout(files):
    counts: Counter = Counter()
    for rel, recs in sessions(files).items():
        roles = {role_of(r["cwd"]) for r in recs if "cwd" in r}
        assert len(roles) == 1, rel
        (role,) = roles
        counts[role] += 1
        cwd = next(r["cwd"] for r in recs if "cwd" in r)
        if role is None:
            assert cwd == "/home/sam/projects/notes"
            continue
        m = LAYOUT[role].match(cwd)
        assert m, (role, cwd)
        assert m.group("town") in TOWNS, cwd
    assert dict(counts) == EXPECTED_COUNTS
    cwds = {r["cwd"] for recs in sessions(files).values() for r in recs if "cwd" in r}
    assert any(c.endswith("/deacon/dogs/boot") for c in cwds)
    assert any(re.search(r"/deacon/dogs/(?!boot$)[a-z]+$", c) for c in cwds)
    assert any(re.search(r"/polecats/[a-z]+/[a-z]+-[a-z]+$", c) for c in cwds)
    assert {c.split("/")[1] for c in cwds} >= {"home", "Users"}


def test_sessions_have_5_to_40_turns(files):
    for rel, recs in sessions(files).items():
        turns = {r["message"]["id"] for r in recs if r["type"] == "assistant"}
        assert 5 <= len(turns) <= 40, (rel, len(turns))


def test_total_size_between_1_and_4_mb(fresh):
    total = sum(len(b) for b in tree(fresh).values())
    assert 1_000_000 <= total <= 4_000_000, total


def test_record_envelope_chain_and_timestamps(files):
    for rel, recs in files.items():
        seen: set[str] = set()
        last_ts = ""
        for r in recs:
            if r["type"] in ("summary", "file-history-snapshot"):
                continue
            for key in (
                "parentUuid",
                "isSidechain",
                "userType",
                "cwd",
                "sessionId",
                "version",
                "gitBranch",
                "uuid",
                "timestamp",
            ):
                assert key in r, (rel, r["type"], key)
            assert r["userType"] == "external"
            assert r["isSidechain"] is ("subagents/" in rel)
            assert re.match(r"^2\.1\.\d+$", r["version"])
            assert ISO_MS_Z.match(r["timestamp"]), r["timestamp"]
            assert r["timestamp"] > last_ts, (rel, r["timestamp"])
            last_ts = r["timestamp"]
            parent = r["parentUuid"]
            assert parent is None or parent in seen, (rel, r["uuid"])
            seen.add(r["uuid"])


def test_assistant_messages_split_over_lines(files):
    lines_per_msg: Counter = Counter()
    thinking_msgs, msgs = set(), set()
    for rel, recs in sessions(files).items():
        by_id: dict[str, set] = {}
        for r in recs:
            if r["type"] != "assistant" or r.get("isApiErrorMessage"):
                continue
            m = r["message"]
            assert r["requestId"].startswith("req_") and m["id"].startswith("msg_")
            assert m["type"] == "message" and m["role"] == "assistant" and m["model"].startswith("claude-")
            assert len(m["content"]) == 1 and "usage" in m and "stop_reason" in m
            by_id.setdefault(m["id"], set()).add(r["requestId"])
            lines_per_msg[(rel, m["id"])] += 1
            msgs.add(m["id"])
            if m["content"][0]["type"] == "thinking":
                assert m["content"][0]["signature"]
                thinking_msgs.add(m["id"])
        assert all(len(v) == 1 for v in by_id.values()), rel  # one requestId per message
    assert sum(1 for n in lines_per_msg.values() if n >= 2) > len(lines_per_msg) // 3
    assert 0.25 <= len(thinking_msgs) / len(msgs) <= 0.42


def test_tool_results_answer_earlier_tool_uses(files):
    names: Counter = Counter()
    for rel, recs in files.items():
        uses = {}
        for r in recs:
            if r["type"] == "assistant":
                for b in r["message"]["content"]:
                    if b["type"] == "tool_use":
                        assert b["id"].startswith("toolu_")
                        uses[b["id"]] = b
                        names[b["name"]] += 1
            elif r["type"] == "user" and isinstance(r["message"]["content"], list):
                for b in r["message"]["content"]:
                    assert b["type"] == "tool_result"
                    assert b["tool_use_id"] in uses, rel
                    assert "toolUseResult" in r
    assert {"Bash", "Read", "Edit", "Write", "Grep", "Task"} <= set(names)


def test_first_prompt_is_a_plain_string(files):
    for rel, recs in sessions(files).items():
        first_user = next(r for r in recs if r["type"] == "user")
        assert isinstance(first_user["message"]["content"], str), rel
        first = next(r for r in recs if r["type"] != "summary")
        assert first["type"] == "file-history-snapshot", rel


def test_real_format_features_present(files):
    kinds = Counter()
    for _rel, recs in files.items():
        for r in recs:
            sub = r.get("subtype") or (r.get("data") or {}).get("type")
            kinds[(r["type"], sub)] += 1
            if r.get("isCompactSummary"):
                kinds["compact_summary"] += 1
            if r["type"] == "assistant" and r["message"]["model"] == "<synthetic>":
                assert r["isApiErrorMessage"] is True
                kinds["synthetic"] += 1
    for key in [
        ("progress", "hook_progress"),
        ("progress", "bash_progress"),
        ("system", "turn_duration"),
        ("system", "stop_hook_summary"),
        ("summary", None),
    ]:
        assert kinds[key] > 0, key
    assert kinds[("system", "compact_boundary")] == 1 and kinds["compact_summary"] == 1
    assert kinds["synthetic"] == 1


def test_subagent_transcript(files):
    subs = {rel: recs for rel, recs in files.items() if "/subagents/" in rel}
    assert len(subs) == 1
    ((rel, recs),) = subs.items()
    m = re.match(r"^([^/]+)/([0-9a-f-]{36})/subagents/agent-([0-9a-f]{7})\.jsonl$", rel)
    assert m
    parent = files[f"{m.group(1)}/{m.group(2)}.jsonl"]
    assert all(r["isSidechain"] is True and r["agentId"] == m.group(3) and r["sessionId"] == m.group(2) for r in recs)
    assert any(
        r.get("toolUseResult", {}).get("agentId") == m.group(3)
        for r in parent
        if isinstance(r.get("toolUseResult"), dict)
    )


def test_planted_secrets(files, fresh):
    planted = json.loads((fresh.parent / "planted_secrets.json").read_text())
    text = {rel: (fresh / rel).read_text(encoding="utf-8") for rel in files}
    kinds = {p["kind"] for p in planted}
    assert {
        "anthropic_api_key",
        "anthropic_api_key_in_json",
        "github_token",
        "aws_access_key_id",
        "hf_token",
        "postgres_url",
    } <= kinds
    assert 5 <= len({p["file"] for p in planted}) <= 8
    assert len({p["role"] for p in planted}) >= 4
    for p in planted:
        assert p["value"] in text[p["file"]], p
        others = [rel for rel in text if rel != p["file"] and p["value"] in text[rel]]
        assert not others, (p["value"], others)
    # The JSON-in-JSON one really sits in an escaped string inside a tool input.
    nested = next(p for p in planted if p["kind"] == "anthropic_api_key_in_json")
    assert f'\\"api_key\\": \\"{nested["value"]}\\"' in text[nested["file"]]
    # Nothing secret-shaped was planted by accident.
    values = {p["value"] for p in planted}
    for rel, body in text.items():
        for pat in SECRET_PATTERNS:
            for hit in pat.findall(body):
                assert hit in values, (rel, hit)
