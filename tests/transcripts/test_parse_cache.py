"""The parse cache: a rerun parses only new or changed transcript files."""

import os
import shutil
from pathlib import Path

from gastown_assets.config import Project
from gastown_assets.samples import SESSIONS_DIR
from gastown_assets.transcripts import find_session_files
from gastown_assets.transcripts.cache import ParseCache
from gastown_assets.transcripts.corpus import CorpusTally, collect_role
from tests.support import CONFIG_DIR


def _collect(corpus, data, role="polecat"):
    cache = ParseCache(data / "cache")
    tally = CorpusTally()
    store = collect_role(
        list(find_session_files([corpus])),
        role,
        Project(CONFIG_DIR, "tiny", Path("/data")).role_rules(),
        cache,
        data / f"{role}.jsonl",
        tally,
    )
    return store, cache, tally


def test_rerun_parses_only_new_or_changed_files(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SESSIONS_DIR, corpus)
    first, cache, tally = _collect(corpus, tmp_path)
    assert cache.parsed == tally.files > 100 and first.sessions == 80

    again, cache, _ = _collect(corpus, tmp_path)
    assert cache.parsed == 0 and again.digest == first.digest

    files = sorted(corpus.rglob("*.jsonl"))
    touched = files[0]
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    _, cache, _ = _collect(corpus, tmp_path)
    assert cache.parsed == 0, "a touched but unchanged file is recognised by its content hash"

    polecat = next(f for f in files if "polecats" in f.parent.name and f.parent.parent == corpus)
    new = polecat.with_name("00000000-0000-4000-8000-000000000001.jsonl")
    new.write_bytes(polecat.read_bytes().replace(polecat.stem.encode(), new.stem.encode()))
    grown, cache, _ = _collect(corpus, tmp_path)
    assert cache.parsed == 1 and grown.sessions == 81 and grown.digest != first.digest


def test_role_rules_apply_at_read_time_so_the_cache_survives_a_rule_change(tmp_path):
    _, _, tally = _collect(SESSIONS_DIR, tmp_path)
    witness, cache, _ = _collect(SESSIONS_DIR, tmp_path, role="witness")
    assert cache.parsed == 0 and witness.sessions == tally.sessions_by_role["witness"] == 20
    assert tally.unmatched == 2  # the two non-Gas-Town sessions are counted, not dropped silently


def test_subagent_sessions_take_their_parents_role_and_are_not_trained_on(tmp_path):
    _, _, tally = _collect(SESSIONS_DIR, tmp_path)
    assert tally.other_kinds == {"polecat:subagent": 1}


def test_a_rerun_of_an_unchanged_corpus_reads_neither_manifest_nor_bodies(tmp_path, monkeypatch):
    first, _, tally = _collect(SESSIONS_DIR, tmp_path)
    _collect(SESSIONS_DIR, tmp_path, role="crew")

    def unused(*args, **kwargs):
        raise AssertionError("the listing, rules and store stamp were enough")

    monkeypatch.setattr(ParseCache, "_load_manifest", unused)
    monkeypatch.setattr(ParseCache, "session_lines", unused)
    again, cache, again_tally = _collect(SESSIONS_DIR, tmp_path)
    crew, _, _ = _collect(SESSIONS_DIR, tmp_path, role="crew")
    assert again == first and cache.reused == tally.files and again_tally == tally
    assert crew.sessions == tally.sessions_by_role["crew"]


def test_a_grown_store_copied_from_the_old_one_equals_one_written_afresh(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    shutil.copytree(SESSIONS_DIR, corpus)
    _collect(corpus, tmp_path / "a")
    polecats = sorted(p for p in corpus.rglob("*.jsonl") if "polecats" in p.parent.name and p.parent.parent == corpus)
    for i, src in enumerate((polecats[0], polecats[-1])):  # one sorts before the rest, one in between
        sid = f"{src.stem[:8]}-0000-4000-8000-00000000000{i}"
        src.with_name(f"{sid}.jsonl").write_bytes(src.read_bytes().replace(src.stem.encode(), sid.encode()))
    data = polecats[1].read_bytes()
    assert b'"text":"' in data
    polecats[1].write_bytes(data.replace(b'"text":"', b'"text":"Revised: ', 1))
    (polecats[5]).unlink()

    read = []
    session_lines = ParseCache.session_lines
    monkeypatch.setattr(
        ParseCache,
        "session_lines",
        lambda self, entry, wanted: read.append(entry.source) or session_lines(self, entry, wanted),
    )
    grown, _, _ = _collect(corpus, tmp_path / "a")
    assert len(read) == 3, "only the new and the changed files' sessions are read from the cache bodies"
    fresh, _, _ = _collect(corpus, tmp_path / "b")
    assert grown.sessions == fresh.sessions == 81 and grown.digest == fresh.digest
    assert Path(grown.path).read_bytes() == Path(fresh.path).read_bytes()


def test_a_damaged_cache_body_is_parsed_again(tmp_path):
    first, _, _ = _collect(SESSIONS_DIR, tmp_path)
    for body in (tmp_path / "cache").glob("*.jsonl"):
        body.write_bytes(body.read_bytes()[:-10])
    Path(first.path).unlink()  # the store must be written again, from the bodies
    again, cache, _tally = _collect(SESSIONS_DIR, tmp_path)
    assert again.digest == first.digest and cache.parsed > 0


def test_worker_processes_parse_to_the_same_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GASTOWN_WORKERS", "0")
    inline, _, inline_tally = _collect(SESSIONS_DIR, tmp_path / "inline")
    monkeypatch.setenv("GASTOWN_WORKERS", "2")
    monkeypatch.setattr(ParseCache, "POOL_AFTER", 5)
    pooled, cache, pooled_tally = _collect(SESSIONS_DIR, tmp_path / "pooled")
    assert cache.parsed == inline_tally.files and pooled_tally == inline_tally
    assert Path(pooled.path).read_bytes() == Path(inline.path).read_bytes() and pooled.digest == inline.digest
    bodies = sorted(p.name for p in (tmp_path / "inline" / "cache").glob("*.jsonl"))
    assert bodies == sorted(p.name for p in (tmp_path / "pooled" / "cache").glob("*.jsonl"))


def test_after_the_first_role_of_a_rerun_the_others_read_no_manifest(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    shutil.copytree(SESSIONS_DIR, corpus)
    _collect(corpus, tmp_path / "a")
    _collect(corpus, tmp_path / "a", role="crew")
    src = next(p for p in sorted(corpus.rglob("*.jsonl")) if "polecats" in p.parent.name and p.parent.parent == corpus)
    sid = f"{src.stem[:8]}-0000-4000-8000-000000000009"
    src.with_name(f"{sid}.jsonl").write_bytes(src.read_bytes().replace(src.stem.encode(), sid.encode()))

    _, cache, tally = _collect(corpus, tmp_path / "a", role="crew")  # the first role: parses the new file
    assert cache.parsed == 1

    def unused(*args, **kwargs):
        raise AssertionError("the scan of this listing holds the role's picks")

    monkeypatch.setattr(ParseCache, "_load_manifest", unused)
    grown, cache, grown_tally = _collect(corpus, tmp_path / "a")
    monkeypatch.undo()
    fresh, _, _ = _collect(corpus, tmp_path / "b")
    assert grown_tally == tally and cache.parsed == 0
    assert grown.sessions == fresh.sessions == 81 and grown.digest == fresh.digest
    assert Path(grown.path).read_bytes() == Path(fresh.path).read_bytes()
