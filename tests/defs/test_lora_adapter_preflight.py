"""lora_adapter refuses a bad config or an oversized run before any trainer starts."""

import dagster as dg
import pytest
import yaml

from gastown_assets.datasets.build import DatasetFile
from gastown_assets.defs.resources import GastownConfig, WandbConfig
from gastown_assets.defs.training import lora_adapter
from gastown_assets.training.base_model import BaseModel

QWEN = BaseModel("Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct", built=False)


def _materialize(config_dir, data_dir):
    context = dg.build_asset_context(partition_key="crew")
    files = {s: DatasetFile(str(data_dir / f"{s}.jsonl"), rows=10, sessions=2, digest=s * 8) for s in ("train", "val")}
    return lora_adapter(
        context,
        gastown=GastownConfig(data_dir=str(data_dir), profile="gpu", config_dir=str(config_dir)),
        wandb=WandbConfig(mode="disabled"),
        trainer=dg.PipesSubprocessClient(),
        base_model=QWEN,
        train_dataset=files["train"],
        val_dataset=files["val"],
    )


def _set(path, **values):
    data = yaml.safe_load(path.read_text())
    data.setdefault("axolotl", {}).update(values)
    path.write_text(yaml.safe_dump(data))


def test_bad_key_in_role_overlay_fails_before_training_naming_file_and_key(config_copy, tmp_path):
    _set(config_copy / "roles" / "crew.yml", lora_dropuot=0.1)
    with pytest.raises(dg.Failure, match=r"roles/crew.yml: axolotl.lora_dropuot: not an Axolotl config key"):
        _materialize(config_copy, tmp_path / "data")
    assert not (tmp_path / "data" / "adapters").exists(), "a trainer work dir was created"


def test_run_too_big_for_the_card_fails_before_training(config_copy, tmp_path):
    _set(config_copy / "profiles" / "gpu.yml", sequence_len=131072)
    with pytest.raises(dg.Failure, match=r"profiles/gpu.yml: gpu.memory_gib: the run needs about"):
        _materialize(config_copy, tmp_path / "data")
    assert not (tmp_path / "data" / "adapters").exists()
