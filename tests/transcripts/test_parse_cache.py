"""The parse cache: a rerun parses only new or changed transcript files."""

import os
import shutil

from gastown_assets.samples import SESSIONS_DIR
from gastown_assets.training.config import role_rules
from gastown_assets.transcripts import find_session_files
from gastown_assets.transcripts.cache import ParseCache
from gastown_assets.transcripts.corpus import CorpusTally, collect_role
from tests.support import CONFIG_DIR


def _collect(corpus, data, role="polecat"):
    cache = ParseCache(data / "cache")
    tally = CorpusTally()
    store = collect_role(list(find_session_files([corpus])), role, role_rules(CONFIG_DIR), cache,
                         data / f"{role}.jsonl", tally)
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
