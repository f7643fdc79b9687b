"""No secret leaves the transcript folder. A corpus with fake secrets of 43 formats in every
position a transcript has goes through every role's datasets and one training run (with its
eval report, memorization probe and promotion); then every byte under GASTOWN_DATA_DIR (and,
for a bucket, every object in it and its local working copy), DAGSTER_HOME and the run's output
is searched for each planted value: whole, JSON-escaped once or twice, and as any run of 8 of
its characters. Once with a local data dir, once with the data dir on a real S3 server."""

import json
import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from gastown_assets.definitions import defs
from gastown_assets.defs.resources import GastownConfig, StoreIOManager, WandbConfig
from gastown_assets.samples import PLANTED_SECRETS, SESSIONS_DIR
from tests.planted import POSITIONS, RUN, Planted, catalogue, found_in, write_planted_corpus
from tests.support import role_sessions, small_local_configs

CWDS = {
    "mayor": "/home/gt/gt/mayor",
    "deacon": "/home/gt/gt/deacon",
    "witness": "/home/gt/gt/web-app/witness",
    "refinery": "/home/gt/gt/web-app/refinery/rig",
    "polecat": "/home/gt/gt/web-app/polecats/ace",
    "crew": "/home/gt/gt/web-app/crew/joe",
}
PLANTED = catalogue()
# the shipped samples' own planted secrets (the polecat samples below carry some of them)
SAMPLES = [
    Planted(f"sample_{s['kind']}_{i}", s["kind"], s["value"], s["value"])
    for i, s in enumerate(json.loads(PLANTED_SECRETS.read_text()))
]
SAMPLES = [
    Planted(p.name, p.kind, p.text, p.text.split(":")[2].split("@")[0]) if "://" in p.text else p for p in SAMPLES
]  # a URL's secret is its password
DATASETS = ["base_model", "raw_transcripts", "train_dataset", "val_dataset"]


def _configs(dest: Path) -> Path:
    """The tiny profile cut to a few steps and a small eval: this test is about bytes, not skill."""
    configs = small_local_configs(dest, max_steps=6)
    base = yaml.safe_load((configs / "base.yml").read_text())
    base["eval"].update(replay_points=4, max_new_tokens=32, loss_rows=8)
    (configs / "base.yml").write_text(yaml.safe_dump(base, sort_keys=False))
    tiny = yaml.safe_load((configs / "profiles/tiny.yml").read_text())
    tiny["axolotl"]["sequence_len"] = 512
    (configs / "profiles/tiny.yml").write_text(yaml.safe_dump(tiny, sort_keys=False))
    return configs


def _corpus(root: Path, configs: Path) -> tuple[Path, list[Planted]]:
    """The sessions, and every secret planted in them: ours, and the samples' own that are there."""
    sessions = role_sessions(root / "sessions", configs)  # shipped polecat samples: train and val rows
    for entry in json.loads(PLANTED_SECRETS.read_text()):  # and the samples that hold the samples' secrets
        (sessions / entry["file"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(SESSIONS_DIR / entry["file"], sessions / entry["file"])
    samples = [p for p in SAMPLES if found_in(_blob(_files(sessions)), [p])]
    write_planted_corpus(sessions, CWDS, PLANTED)
    return sessions, PLANTED + samples


def _run_everything(gastown: GastownConfig, io_manager, home: Path) -> list[dg.ExecuteInProcessResult]:
    assets = [*defs.assets, *defs.asset_checks]
    resources = {
        "gastown": gastown,
        "io_manager": io_manager,
        "trainer": dg.PipesSubprocessClient(),
        "wandb": WandbConfig(mode="disabled"),
    }
    results = []
    home.mkdir(parents=True, exist_ok=True)
    with dg.DagsterInstance.local_temp(tempdir=str(home)) as instance:
        for role in sorted(CWDS):
            selection = None if role == "polecat" else DATASETS  # polecat: datasets, training, eval, promotion
            results.append(
                dg.materialize(
                    assets,
                    selection=selection,
                    partition_key=role,
                    resources=resources,
                    instance=instance,
                    raise_on_error=False,
                )
            )
    return results


def _blob(paths) -> bytes:
    return b"\0".join(p.read_bytes() for p in paths if p.is_file() and not p.is_symlink())


def _files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()]


def _check_ran(results: list[dg.ExecuteInProcessResult]) -> dict:
    """Every role's datasets and checks, and polecat's training, report and probe, ran."""
    by_role = dict(zip(sorted(CWDS), results))
    for role, result in by_role.items():
        mats = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
        assert {"raw_transcripts", "train_dataset", "val_dataset"} <= mats, (role, mats)
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks.get("no_secrets_in_datasets") is True, (role, checks)
    polecat = by_role["polecat"]
    mats = {m.asset_key.to_user_string(): m.materialization for m in polecat.get_asset_materialization_events()}
    assert {"lora_adapter", "eval_report"} <= set(mats), polecat.all_events[-5:]
    redacted = {
        m.asset_key.to_user_string(): m.materialization.metadata["secrets_redacted"].value
        for r in results
        for m in r.get_asset_materialization_events()
        if m.asset_key.to_user_string() == "raw_transcripts"
    }
    return {"redacted": redacted, "probe_leaks": mats["eval_report"].metadata["memorization_leaks"].value}


def test_the_corpus_plants_every_format_in_every_position(tmp_path):
    sessions, planted = _corpus(tmp_path, small_local_configs(tmp_path / "configs"))
    assert found_in(_blob(_files(sessions)), planted) == [p.name for p in planted]
    assert len(PLANTED) == 43 and len(POSITIONS) == 13 and RUN == 8 and len(planted) > len(PLANTED)


@pytest.mark.slow
def test_no_planted_secret_anywhere_with_a_local_data_dir(tmp_path, capfd):
    configs = _configs(tmp_path / "configs")
    sessions, planted = _corpus(tmp_path, configs)
    data, home = tmp_path / "data", tmp_path / "dagster_home"
    gastown = GastownConfig(sessions_dir=str(sessions), data_dir=str(data), profile="tiny", config_dir=str(configs))
    results = _run_everything(gastown, StoreIOManager(gastown=gastown), home)
    out, err = capfd.readouterr()
    ran = _check_ran(results)
    assert all(n > 0 for n in ran["redacted"].values()) and ran["probe_leaks"] == 0, ran
    events = "\n".join(str(e) for r in results for e in r.all_events).encode()
    haystack = _blob(_files(data, home)) + events + out.encode() + err.encode()
    assert len(_files(data)) > 50 and (data / "reports/polecat/report.json").is_file()
    assert found_in(haystack, planted) == []


@pytest.mark.slow
def test_no_planted_secret_in_any_object_of_the_bucket(tmp_path, capfd, s3_server, s3_env):
    configs = _configs(tmp_path / "configs")
    sessions, planted = _corpus(tmp_path, configs)
    url, work, home = f"{s3_env}/town", tmp_path / "work", tmp_path / "dagster_home"
    aws = {k.lower(): v for k, v in s3_server.env.items()}
    gastown = GastownConfig(
        sessions_dir=str(sessions), data_dir=url, profile="tiny", config_dir=str(configs), work_dir=str(work), **aws
    )
    results = _run_everything(gastown, StoreIOManager(gastown=gastown), home)
    out, err = capfd.readouterr()
    ran = _check_ran(results)
    assert all(n > 0 for n in ran["redacted"].values()) and ran["probe_leaks"] == 0, ran
    fs, root = s3_server.fs(), url.removeprefix("s3://")
    keys = [k for k, info in fs.find(root, detail=True).items() if info.get("type") != "directory"]
    assert any(k.endswith("transcripts/polecat/sessions.removed-secrets.json") for k in keys)
    assert any("/adapters/polecat/" in k and k.endswith("adapter_model.safetensors") for k in keys)
    objects = b"\0".join(fs.cat_file(k) for k in keys)
    events = "\n".join(str(e) for r in results for e in r.all_events).encode()
    haystack = objects + _blob(_files(work, home)) + events + out.encode() + err.encode()
    assert len(keys) > 30
    assert found_in(haystack, planted) == []
