"""The dataset build on the shipped sample sessions: split, secrets, dedup, cache, atomicity."""

import json
from pathlib import Path

import pytest

from gastown_assets.config import Project
from gastown_assets.datasets.build import build, spec_for
from gastown_assets.datasets.checks import scan_file, sessions_in_both
from gastown_assets.datasets.tokens import chat_token_counter
from gastown_assets.samples import PLANTED_SECRETS, SESSIONS_DIR
from gastown_assets.training.base_model import corpus_texts
from gastown_assets.training.tiny_model import train_tokenizer
from gastown_assets.transcripts import find_session_files
from gastown_assets.transcripts.cache import ParseCache
from gastown_assets.transcripts.corpus import CorpusTally, collect_role
from gastown_assets.transcripts.redact import read_record
from gastown_assets.transcripts.role_store import record_path
from gastown_assets.transcripts.store import read_stored_lines
from tests.support import CONFIG_DIR


@pytest.fixture(scope="module")
def counter(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("tokenizer")
    train_tokenizer(corpus_texts(SESSIONS_DIR), 1024).save_pretrained(model_dir)
    return chat_token_counter(str(model_dir))


def _store(tmp: Path, role: str) -> Path:
    store = collect_role(
        list(find_session_files([SESSIONS_DIR])),
        role,
        Project(CONFIG_DIR, "tiny", Path("/data")).role_rules(),
        ParseCache(tmp / "cache"),
        tmp / f"{role}.jsonl",
        CorpusTally(),
    )
    return Path(store.path)


def _build(tmp: Path, role: str, counter, out: str = "out"):
    spec = spec_for(Project(CONFIG_DIR, "tiny", tmp), role, tokenizer_id="test")
    return build(read_stored_lines(_store(tmp, role)), spec, counter, tmp / out)


@pytest.mark.parametrize("role", ["polecat", "crew", "mayor"])
def test_rows_split_by_session_and_fit_the_sequence_len(tmp_path, counter, role):
    result = _build(tmp_path, role, counter)
    assert result.train.rows > 0 and result.val.rows > 0
    assert not sessions_in_both(Path(result.train.path), Path(result.val.path))
    for path in (result.train.path, result.val.path):
        for line in Path(path).read_text().splitlines():
            row = json.loads(line)
            assert row["messages"][0]["role"] == "system"
            assert counter([row["messages"]])[0] <= 1024


def test_planted_secrets_never_reach_a_dataset(tmp_path, counter):
    planted = json.loads(PLANTED_SECRETS.read_text())
    redacted = {}
    for role in ["polecat", "crew", "mayor", "deacon", "witness", "refinery"]:
        result = _build(tmp_path, role, counter, out=role)
        redacted[role] = sum(result.redacted.values())
        for path in (result.train.path, result.val.path):
            text = Path(path).read_text()
            assert not [s["kind"] for s in planted if s["value"] in text]
            assert not scan_file(Path(path))
    assert redacted == dict.fromkeys(redacted, 0)  # all redacted at ingest: the build's second line found none
    removed = {role: read_record(record_path(tmp_path / f"{role}.jsonl").read_bytes())[1] for role in redacted}
    assert removed["polecat"] and removed["crew"]


def test_rebuild_reuses_cached_rows_and_writes_the_same_bytes(tmp_path, counter):
    first = _build(tmp_path, "polecat", counter)
    data = Path(first.train.path).read_bytes(), Path(first.val.path).read_bytes()
    again = _build(tmp_path, "polecat", counter)
    assert again.cache_misses == 0 and again.cache_hits == first.cache_misses == 80
    assert (Path(again.train.path).read_bytes(), Path(again.val.path).read_bytes()) == data
    assert again.train.digest == first.train.digest


def test_a_failed_build_leaves_the_previous_files_in_place(tmp_path, counter):
    first = _build(tmp_path, "polecat", counter)
    before = Path(first.train.path).read_bytes()

    def broken(conversations):
        raise RuntimeError("tokenizer died")

    spec = spec_for(Project(CONFIG_DIR, "tiny", tmp_path), "polecat", tokenizer_id="other")  # misses the cache
    with pytest.raises(RuntimeError):
        build(read_stored_lines(_store(tmp_path, "polecat")), spec, broken, tmp_path / "out")
    assert Path(first.train.path).read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".rows-")) == [
        "train.jsonl",
        "val.jsonl",
    ]


def test_same_input_and_spec_skip_the_build_and_keep_the_files(tmp_path, counter):
    spec = spec_for(Project(CONFIG_DIR, "tiny", tmp_path), "polecat", tokenizer_id="test")
    store = _store(tmp_path, "polecat")
    first = build(read_stored_lines(store), spec, counter, tmp_path / "out", input_digest="v1")
    mtime = Path(first.train.path).stat().st_mtime_ns

    def unused(conversations):
        raise AssertionError("a build from the same input must not count tokens again")

    again = build(read_stored_lines(store), spec, unused, tmp_path / "out", input_digest="v1")
    assert (again.train.rows, again.val.rows, again.train.digest) == (
        first.train.rows,
        first.val.rows,
        first.train.digest,
    )
    assert again.cache_misses == 0 and Path(first.train.path).stat().st_mtime_ns == mtime
    Path(first.train.path).write_text("")  # files changed behind its back: rebuilt
    rebuilt = build(read_stored_lines(store), spec, counter, tmp_path / "out", input_digest="v1")
    assert Path(rebuilt.train.path).read_bytes() and rebuilt.train.digest == first.train.digest


def _role_build(corpus: Path, data: Path, role: str, counter):
    """raw_transcripts then the dataset build for one role, as the assets run them."""
    store = collect_role(
        list(find_session_files([corpus])),
        role,
        Project(CONFIG_DIR, "tiny", Path("/data")).role_rules(),
        ParseCache(data / "cache"),
        data / "transcripts" / f"{role}.jsonl",
        CorpusTally(),
    )
    spec = spec_for(Project(CONFIG_DIR, "tiny", data), role, tokenizer_id="test")
    return store, build(
        read_stored_lines(Path(store.path)), spec, counter, data / "datasets" / role, input_digest=store.digest
    )


def _outputs(store, result) -> tuple[bytes, ...]:
    return tuple(Path(p).read_bytes() for p in (store.path, result.train.path, result.val.path))


@pytest.mark.parametrize("where", ["first", "middle", "changed"])
def test_a_rerun_after_a_change_writes_what_a_full_build_writes(tmp_path, counter, where):
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(SESSIONS_DIR, corpus)
    polecats = sorted(p for p in corpus.rglob("*.jsonl") if "polecats" in p.parent.name and p.parent.parent == corpus)
    store, first = _role_build(corpus, tmp_path / "data", "polecat", counter)
    _role_build(corpus, tmp_path / "data", "crew", counter)

    src = polecats[len(polecats) // 2]
    if where == "changed":  # a session's file changed in place
        data = src.read_bytes()
        assert b'"text":"' in data
        src.write_bytes(data.replace(b'"text":"', b'"text":"Revised: ', 1))
    else:
        sid = f"{src.stem[:8]}-ffff-4fff-8fff-ffffffffffff"  # sorts right after src
        if where == "first":
            sid = "00000000-0000-4000-8000-000000000001"
        new = src.with_name(f"{sid}.jsonl")
        new.write_bytes(polecats[0].read_bytes().replace(polecats[0].stem.encode(), sid.encode()))

    again_store, again = _role_build(corpus, tmp_path / "data", "polecat", counter)
    crew_store, crew = _role_build(corpus, tmp_path / "data", "crew", counter)
    fresh_store, fresh = _role_build(corpus, tmp_path / "fresh", "polecat", counter)
    fresh_crew_store, fresh_crew = _role_build(corpus, tmp_path / "fresh", "crew", counter)

    assert again.cache_misses == 1 and again.cache_hits == first.cache_misses - (where == "changed")
    assert _outputs(again_store, again) == _outputs(fresh_store, fresh)
    assert (again_store.digest, again.train.digest, again.val.digest) == (
        fresh_store.digest,
        fresh.train.digest,
        fresh.val.digest,
    )
    assert (again.dropped, again.redacted, again.duplicates) == (fresh.dropped, fresh.redacted, fresh.duplicates)
    assert _outputs(crew_store, crew) == _outputs(fresh_crew_store, fresh_crew)
    assert store.digest != again_store.digest


def test_worker_processes_build_the_same_rows(tmp_path, counter, monkeypatch):
    import gastown_assets.datasets.build as build_module
    from gastown_assets.datasets.tokens import ChatTokenCounter

    assert isinstance(counter, ChatTokenCounter)  # pickles as its model: the workers load their own
    monkeypatch.setenv("GASTOWN_WORKERS", "0")
    inline = _build(tmp_path, "polecat", counter, out="inline")
    monkeypatch.setenv("GASTOWN_WORKERS", "2")
    monkeypatch.setattr(build_module, "POOL_AFTER", 3)
    pooled = _build(tmp_path, "polecat", counter, out="pooled")
    assert pooled.cache_misses == inline.cache_misses == 80
    for a, b in ((inline.train, pooled.train), (inline.val, pooled.val)):
        assert Path(a.path).read_bytes() == Path(b.path).read_bytes() and a.digest == b.digest
    assert (inline.dropped, inline.redacted, inline.duplicates) == (pooled.dropped, pooled.redacted, pooled.duplicates)
