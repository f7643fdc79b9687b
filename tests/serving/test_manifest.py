"""The fleet manifest and the vLLM line, from the registries of a data dir (a folder or a bucket)."""

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from gastown_assets.config import Project
from gastown_assets.serving.manifest import (
    MANIFEST_KEY,
    VLLM_SCRIPT_KEY,
    build_manifest,
    command_line,
    read_manifest,
    vllm_max_rank,
    write_manifest,
)
from gastown_assets.storage import DataStore
from tests.serving.fleet import promote, untrained
from tests.support import CONFIG_DIR

OTHER_ROLES = ["deacon", "mayor", "refinery", "witness"]


@pytest.fixture(scope="module")
def adapter_files(smollm2, tmp_path_factory):
    root = tmp_path_factory.mktemp("adapter-files")
    return {
        "r8": untrained(smollm2.name_or_path, root / "r8"),
        "r16": untrained(smollm2.name_or_path, root / "r16", r=16, lora_alpha=32),
    }


def _fleet(store, adapter_files, smollm2):
    """polecat (r=8) and crew (r=16) promoted; witness promoted on an older base model."""
    for role, files, base in (
        ("polecat", "r8", smollm2.digest),
        ("crew", "r16", smollm2.digest),
        ("witness", "r8", "an-older-base"),
    ):
        key = f"adapters/{role}/v1"
        for name in ("adapter_config.json", "adapter_model.safetensors"):
            store.put(f"{key}/{name}", adapter_files[files] / name)
        promote(store, role, "v1", base)


def test_manifest_lists_every_role_with_what_serves_it(tmp_path, adapter_files, smollm2):
    store = DataStore.open(str(tmp_path / "data"))
    _fleet(store, adapter_files, smollm2)
    manifest = build_manifest(store, Project(CONFIG_DIR, "local", Path("/data")), smollm2)
    roles = manifest["roles"]
    assert {r: v["status"] for r, v in roles.items()} == {
        "crew": "served",
        "polecat": "served",
        "witness": "not_servable",
        **{r: "not_promoted" for r in OTHER_ROLES if r != "witness"},
    }
    assert roles["mayor"]["last_reason"] == "no adapter evaluated yet"
    polecat = roles["polecat"]
    folder = tmp_path / "data/adapters/polecat/v1"
    assert polecat["version"] == "v1" and polecat["location"] == str(folder)
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        assert polecat["files"][name]["sha256"] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    assert (polecat["rank"], polecat["alpha"], roles["crew"]["rank"]) == (8, 16.0, 16)
    assert sorted(polecat["target_modules"]) == [
        "down_proj",
        "gate_proj",
        "k_proj",
        "o_proj",
        "q_proj",
        "up_proj",
        "v_proj",
    ]
    assert polecat["base_model"] == {"name_or_path": smollm2.name_or_path, "data_version": smollm2.digest}
    assert polecat["eval"]["adapter_val_loss"] == 1.5 and polecat["eval"]["replay"]["adapter"]["parse_rate"] == 1.0
    assert manifest["base_model"] == {
        "name_or_path": smollm2.name_or_path,
        "data_version": smollm2.digest,
        "built": True,
    }
    assert roles["witness"]["problems"] == [
        f"{tmp_path / 'data/adapters/witness/v1'}: base_model: trained on base model version an-older-base, but "
        f"the served base is {smollm2.digest}; retrain the role"
    ]


def test_vllm_line_serves_base_and_one_lora_module_per_served_role(tmp_path, adapter_files, smollm2):
    store = DataStore.open(str(tmp_path / "data"))
    _fleet(store, adapter_files, smollm2)
    manifest = build_manifest(store, Project(CONFIG_DIR, "local", Path("/data")), smollm2)
    adapters = tmp_path / "data/adapters"
    assert manifest["vllm"]["argv"] == [
        "vllm",
        "serve",
        smollm2.name_or_path,
        "--served-model-name",
        "base",
        "--host",
        "127.0.0.1",
        "--port",
        "8000",
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        "hermes",
        "--enable-lora",
        "--max-lora-rank",
        "16",
        "--max-loras",
        "2",
        "--lora-modules",
        f"crew={adapters / 'crew/v1'}",
        f"polecat={adapters / 'polecat/v1'}",
    ]
    assert manifest["vllm"]["pull"] == []
    write_manifest(store, manifest)
    assert read_manifest(store) == manifest
    script = (tmp_path / "data" / VLLM_SCRIPT_KEY).read_text()
    assert script.startswith("#!/bin/sh\n") and "exec vllm serve" in script
    assert f"  --lora-modules crew={adapters / 'crew/v1'} polecat={adapters / 'polecat/v1'}\n" in script
    assert sorted(p.name for p in (tmp_path / "data/serving").iterdir()) == ["manifest.json", "vllm-serve.sh"]


def test_no_promoted_role_serves_the_base_alone(tmp_path, smollm2):
    store = DataStore.open(str(tmp_path / "data"))
    manifest = build_manifest(store, Project(CONFIG_DIR, "local", Path("/data")), smollm2)
    assert {v["status"] for v in manifest["roles"].values()} == {"not_promoted"}
    assert "--enable-lora" not in manifest["vllm"]["argv"]
    assert command_line(manifest).startswith(f"vllm serve {smollm2.name_or_path} --served-model-name base")


def test_a_rank_over_the_limit_is_listed_and_not_served(tmp_path, adapter_files, smollm2):
    config = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, config)
    (config / "base.yml").write_text((config / "base.yml").read_text().replace("max_lora_rank: 64", "max_lora_rank: 8"))
    store = DataStore.open(str(tmp_path / "data"))
    _fleet(store, adapter_files, smollm2)
    manifest = build_manifest(store, Project(config, "local", Path("/data")), smollm2)
    crew = manifest["roles"]["crew"]
    assert crew["status"] == "not_servable" and "r: LoRA rank 16 exceeds serving.max_lora_rank 8" in crew["problems"][0]
    argv = manifest["vllm"]["argv"]
    assert argv[argv.index("--max-lora-rank") + 1] == "8" and argv[argv.index("--max-loras") + 1] == "1"
    assert not any(a.startswith("crew=") for a in argv)


@pytest.mark.parametrize("rank, flag", [(1, 1), (8, 8), (12, 16), (16, 16), (64, 64), (65, 128), (300, 320)])
def test_max_lora_rank_is_the_next_rank_vllm_accepts(rank, flag):
    assert vllm_max_rank(rank) == flag


def test_a_missing_manifest_says_how_to_make_it(tmp_path):
    from gastown_assets.serving.manifest import ManifestError

    with pytest.raises(ManifestError, match=f"{tmp_path}/{MANIFEST_KEY}: missing; materialize served_adapters"):
        read_manifest(DataStore.open(str(tmp_path)))


def test_from_a_bucket_the_line_serves_pulled_folders(s3_env, tmp_path, adapter_files, smollm2):
    from gastown_assets.settings import Settings

    store = Settings.create(data_dir=s3_env, work_dir=str(tmp_path / "work"), storage=dict(os.environ)).store
    _fleet(store, adapter_files, smollm2)
    manifest = build_manifest(store, Project(CONFIG_DIR, "local", Path("/data")), smollm2)
    assert manifest["roles"]["polecat"]["location"] == f"{s3_env}/adapters/polecat/v1"
    assert manifest["vllm"]["pull"] == [
        ["gastown", "pull-adapter", "crew", "adapters/crew", "--version", "v1"],
        ["gastown", "pull-adapter", "polecat", "adapters/polecat", "--version", "v1"],
    ]
    assert manifest["vllm"]["argv"][-3:] == ["--lora-modules", "crew=adapters/crew", "polecat=adapters/polecat"]
    write_manifest(store, manifest)
    assert json.loads(store.read_bytes(MANIFEST_KEY)) == manifest
