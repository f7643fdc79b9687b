"""retrain_on_new_sessions evaluated the way the daemon does, one tick at a time."""

import os
import shutil
import time

import dagster as dg
import pytest
import yaml

from gastown_assets.defs.resources import GastownConfig
from gastown_assets.defs.sensors import retrain_on_new_sessions
from gastown_assets.samples import SESSIONS_DIR

POLECAT = sorted(SESSIONS_DIR.glob("*-polecats-*/*.jsonl"))
MAYOR = sorted(SESSIONS_DIR.glob("*-gt-mayor/*.jsonl"))


@pytest.fixture
def town(tmp_path, config_copy):
    base = config_copy / "base.yml"
    data = yaml.safe_load(base.read_text())
    data["retrain"] = {"min_new_sessions": 2, "min_new_bytes": 10**9}
    base.write_text(yaml.safe_dump(data, sort_keys=False))
    sessions = tmp_path / "sessions"
    _add(sessions, POLECAT[:3] + MAYOR[:1], mtime=1_000)
    return sessions, config_copy


def _add(sessions, paths, mtime):
    for p in paths:
        dest = sessions / p.parent.name / p.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, dest)
        os.utime(dest, (mtime, mtime))
        sub = p.with_suffix("")
        if sub.is_dir():  # subagent files come along; they must not count as sessions
            shutil.copytree(sub, dest.with_suffix(""), dirs_exist_ok=True)
            for f in dest.with_suffix("").rglob("*.jsonl"):
                os.utime(f, (mtime, mtime))


def _tick(sessions, config_dir, cursor):
    context = dg.build_sensor_context(
        cursor=cursor, resources={"gastown": GastownConfig(sessions_dir=str(sessions), config_dir=str(config_dir))}
    )
    result = retrain_on_new_sessions(context)
    requests = result if isinstance(result, list) else []
    return requests, result, context.cursor


def test_first_tick_takes_a_baseline_and_requests_nothing(town):
    requests, result, cursor = _tick(*town, None)
    assert requests == [] and "baseline" in result.skip_message and cursor


def test_enough_new_sessions_request_that_roles_chain_once(town):
    sessions, config_dir = town
    _, _, cursor = _tick(sessions, config_dir, None)
    _add(sessions, POLECAT[3:4], mtime=2_000)
    requests, result, cursor = _tick(sessions, config_dir, cursor)
    assert requests == [] and "'polecat': 1" in result.skip_message  # 1 of 2: below the threshold

    _add(sessions, POLECAT[4:5] + MAYOR[1:2], mtime=3_000)
    before = cursor
    requests, _, cursor = _tick(sessions, config_dir, cursor)
    assert [(r.partition_key, r.tags["gastown/retrain_reason"].split(" (")[0]) for r in requests] == [
        ("polecat", "2 new or changed sessions")
    ]
    again, _, _ = _tick(sessions, config_dir, before)  # the same tick evaluated twice
    assert [r.run_key for r in again] == [requests[0].run_key], "same new data, same run_key"

    requests, result, _ = _tick(sessions, config_dir, cursor)
    assert requests == [] and "polecat" not in result.skip_message  # counted from zero again


def test_a_changed_role_file_requests_that_role(town):
    sessions, config_dir = town
    _, _, cursor = _tick(sessions, config_dir, None)
    crew = config_dir / "roles" / "crew.yml"
    crew.write_text(crew.read_text() + "\n# tuned the prompt\n")
    requests, _, cursor = _tick(sessions, config_dir, cursor)
    assert [(r.partition_key, r.tags["gastown/retrain_reason"]) for r in requests] == [("crew", "crew.yml changed")]
    assert requests[0].run_key.startswith("crew:config-")
    assert _tick(sessions, config_dir, cursor)[0] == []


def test_a_grown_session_counts_as_changed_and_subagents_do_not_count(town):
    sessions, config_dir = town
    _, _, cursor = _tick(sessions, config_dir, None)
    grown = sessions / POLECAT[0].parent.name / POLECAT[0].name
    for sub in sessions.rglob("subagents/*.jsonl"):
        os.utime(sub, (time.time(), time.time()))  # touched subagent files alone trigger nothing
    assert _tick(sessions, config_dir, cursor)[0] == []
    with grown.open("a") as f:
        f.write("\n")
    os.utime(grown, (5_000, 5_000))
    _add(sessions, POLECAT[5:6], mtime=5_000)
    requests, _, _ = _tick(sessions, config_dir, cursor)
    assert [r.partition_key for r in requests] == ["polecat"]
