"""Secrets are replaced while a session is parsed: the parse cache, the role stores and the
record of what was removed hold no secret, whole, escaped or as a run of 8 characters."""

import json
import os
from pathlib import Path

import orjson
import pytest

from gastown_assets.config import Project
from gastown_assets.transcripts import ParseStats, find_session_files, read_sessions
from gastown_assets.transcripts.cache import FORMAT, ParseCache
from gastown_assets.transcripts.corpus import CorpusTally, collect_role
from gastown_assets.transcripts.redact import read_record, secret_hash
from gastown_assets.transcripts.role_store import record_path
from tests.planted import POSITIONS, catalogue, found_in, planted_session, write_planted_corpus
from tests.support import CONFIG_DIR

PLANTED = catalogue()
CWDS = {"polecat": "/home/gt/gt/web-app/polecats/ace", "crew": "/home/gt/gt/web-app/crew/joe"}


def _collect(corpus: Path, data: Path, role: str = "polecat"):
    cache, tally = ParseCache(data / "transcripts" / "cache"), CorpusTally()
    store = collect_role(
        list(find_session_files([corpus])),
        role,
        Project(CONFIG_DIR, "tiny", Path("/data")).role_rules(),
        cache,
        data / "transcripts" / role / "sessions.jsonl",
        tally,
    )
    return store, cache, tally


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("sessions")
    write_planted_corpus(root, CWDS, PLANTED)
    return root


def _every_file(root: Path):
    return [p for p in root.rglob("*") if p.is_file()]


def test_the_corpus_holds_every_secret_in_every_position(corpus):
    raw = b"".join(p.read_bytes() for p in _every_file(corpus))
    assert found_in(raw, PLANTED) == [p.name for p in PLANTED]  # the search finds what is there
    assert len(PLANTED) >= 40 and len(POSITIONS) >= 12


def test_no_secret_reaches_the_parse_cache_or_a_role_store(corpus, tmp_path):
    data = tmp_path / "data"
    for role in CWDS:
        store, _cache, tally = _collect(corpus, data, role)
        assert store.sessions == len(range(0, len(PLANTED), 6)) and store.removed > 0
    leaks = {str(p.relative_to(data)): found_in(p.read_bytes(), PLANTED) for p in _every_file(data)}
    assert {k: v for k, v in leaks.items() if v} == {}
    assert any(p.name == "manifest.json" for p in _every_file(data))
    bodies = [p for p in _every_file(data / "transcripts" / "cache") if p.suffix == ".jsonl"]
    assert len(bodies) == tally.files == 2 * (8 + len(PLANTED))  # per role 8 main files, a subagent per secret
    # every kind was counted at ingest, values nowhere
    assert set(tally.redacted) >= {p.kind for p in PLANTED}


def test_the_record_keeps_salted_hashes_and_contexts_never_values(corpus, tmp_path):
    store, cache, _ = _collect(corpus, tmp_path)
    data = record_path(Path(store.path)).read_bytes()
    assert not found_in(data, PLANTED)
    salt, removed = read_record(data)
    assert salt == cache.salt and len(removed) == store.removed
    hashes = {r.hash for r in removed}
    assert [p.name for p in PLANTED if secret_hash(salt, p.secret) not in hashes] == []
    speakers = {r.speaker for r in removed}
    assert speakers >= {"user", "assistant", "thinking", "tool", "tool_call"}
    said = [r for r in removed if r.speaker == "assistant" and r.kind == "github_token"]
    assert said and said[0].context.endswith("the old one was ")  # what the probe prompts with
    assert all(len(r.context) <= 256 and "[REDACTED:" not in r.context[-12:] for r in said)
    assert {r.session_id for r in removed} <= {
        line["session_id"] for line in map(json.loads, Path(store.path).read_text().splitlines())
    }


def test_a_value_removed_once_is_swept_from_the_rest_of_the_file(tmp_path):
    p = next(x for x in PLANTED if x.name == "env_db_password")  # a password: found only after its name
    main, _ = planted_session("swept-0001", CWDS["polecat"], [p])
    (tmp_path / "s.jsonl").write_bytes(main)
    stats = ParseStats()
    (session,) = read_sessions(tmp_path / "s.jsonl", stats)
    grep = [c for t in session.turns for c in t.tool_calls if c.name == "Write"][0]
    assert grep.arguments["env"]["SERVICE_PASSWORD"] == "[REDACTED:generic_secret]"
    assert p.secret not in orjson.dumps(session).decode()
    assert stats.redacted["generic_secret"] >= 10


def test_the_parser_redacts_by_default_and_only_a_test_can_turn_it_off(tmp_path):
    p = next(x for x in PLANTED if x.name == "gitlab_pat")
    main, _ = planted_session("plain-0001", CWDS["crew"], [p])
    (tmp_path / "s.jsonl").write_bytes(main)
    (redacted,) = read_sessions(tmp_path / "s.jsonl", ParseStats())
    (raw,) = read_sessions(tmp_path / "s.jsonl", ParseStats(), redact=False)
    assert not found_in(orjson.dumps(redacted), [p])
    assert found_in(orjson.dumps(raw), [p]) == [p.name]


def test_a_cache_of_an_older_format_is_rebuilt_and_its_bodies_removed(corpus, tmp_path):
    data = tmp_path / "data"
    _collect(corpus, data)
    cache_dir = data / "transcripts" / "cache"
    # what an older version left: a manifest of format 6 and a body holding a secret in clear
    manifest = orjson.loads((cache_dir / "manifest.json").read_bytes())
    manifest["format"] = FORMAT - 1
    old_body = cache_dir / "0123456789abcdef0123.0123456789abcdef.jsonl"
    old_body.write_text(json.dumps({"turns": [{"text": PLANTED[0].secret}]}) + "\n")
    (cache_dir / "manifest.json").write_bytes(orjson.dumps(manifest))
    for scan in cache_dir.glob("scan*.json"):  # its tagging outcomes were keyed by the old format
        scan.write_bytes(scan.read_bytes().replace(b'"key":"', b'"key":"old-'))
    os.utime(old_body, ns=(1, 1))
    _store, cache, tally = _collect(corpus, data)
    assert cache.parsed == tally.files > 0, "every file parsed again"
    assert not old_body.exists()
    assert not [p for p in _every_file(data) if found_in(p.read_bytes(), PLANTED)]


def test_a_rerun_reuses_the_store_and_its_record_and_rewrites_a_lost_record(corpus, tmp_path):
    first, _, _ = _collect(corpus, tmp_path)
    record = record_path(Path(first.path))
    before = record.read_bytes()
    again, cache, _ = _collect(corpus, tmp_path)
    assert cache.parsed == 0 and again == first and record.read_bytes() == before
    record.unlink()
    third, cache, _ = _collect(corpus, tmp_path)
    assert cache.parsed == 0 and third.digest == first.digest and record.read_bytes() == before
