"""Bad inputs fail at the first asset that can see them, with the file and key named, and
nothing downstream runs (in process, the real definitions)."""

import dagster as dg
import pytest
import yaml

from gastown_assets.definitions import defs
from gastown_assets.defs.resources import GastownConfig, WandbConfig
from gastown_assets.samples import SESSIONS_DIR


def _run(tmp_path, config_dir, sessions, profile="tiny", selection="*"):
    resources = {
        "gastown": GastownConfig(
            sessions_dir=str(sessions), data_dir=str(tmp_path / "data"), profile=profile, config_dir=str(config_dir)
        ),
        "io_manager": dg.FilesystemIOManager(base_dir=str(tmp_path / "data" / "storage")),
        "wandb": WandbConfig(mode="disabled"),
        "trainer": dg.PipesSubprocessClient(),
    }
    return dg.materialize(
        [*defs.assets, *defs.asset_checks],
        partition_key="witness",
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        selection=selection,
    )


def _failure(result) -> tuple[str, str]:
    step = next(e for e in result.all_events if e.is_step_failure)
    return step.step_key, step.event_specific_data.error.message


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_an_empty_sessions_dir_stops_at_raw_transcripts(tmp_path, config_copy):
    (tmp_path / "empty").mkdir()
    result = _run(tmp_path, config_copy, tmp_path / "empty", selection="raw_transcripts*")
    step, message = _failure(result)
    assert step == "raw_transcripts" and "GASTOWN_SESSIONS_DIR: no *.jsonl transcript files" in message
    assert _materialized(result) == set()


def test_a_role_whose_patterns_match_nothing_stops_at_raw_transcripts(tmp_path, config_copy):
    path = config_copy / "roles" / "witness.yml"
    data = yaml.safe_load(path.read_text())
    data["role"]["sessions"]["cwd_patterns"] = ["/no-such-town/witness$"]
    path.write_text(yaml.safe_dump(data))
    result = _run(tmp_path, config_copy, SESSIONS_DIR, selection="raw_transcripts*")
    step, message = _failure(result)
    assert step == "raw_transcripts"
    assert f"{path}: role.sessions.cwd_patterns: no session" in message
    assert _materialized(result) == set()


@pytest.mark.parametrize("profile,key_file", [("tiny", "profiles/tiny.yml"), ("gpu", "base.yml")])
def test_a_missing_base_model_path_stops_at_base_model(tmp_path, config_copy, profile, key_file):
    path = config_copy / key_file
    data = yaml.safe_load(path.read_text())
    data.pop("tiny_model", None)
    data["axolotl"]["base_model"] = str(tmp_path / "no-model-here")
    path.write_text(yaml.safe_dump(data))
    result = _run(tmp_path, config_copy, SESSIONS_DIR, profile=profile, selection="base_model*")
    step, message = _failure(result)
    assert step == "base_model"
    assert f"{path}: axolotl.base_model: no model at {tmp_path / 'no-model-here'}" in message
    assert _materialized(result) == set()
