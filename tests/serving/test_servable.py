"""An adapter is servable or the check says why, naming the file and key: real PEFT adapters on
the local profile's SmolLM2 (not trained: what a server refuses is in their files and shapes)."""

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from gastown_assets.serving.servable import check_adapter, check_lora_adapter, inspect
from gastown_assets.settings import Settings
from gastown_assets.training.base_model import BaseModel
from gastown_assets.training.plan import Adapter
from tests.serving.fleet import untrained
from tests.support import CONFIG_DIR


@pytest.fixture(scope="module")
def adapters(smollm2, tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters")
    base = smollm2.name_or_path
    return {
        "r16": untrained(base, root / "r16", r=16, lora_alpha=32),
        "saves_norm": untrained(base, root / "saves_norm", modules_to_save=["model.norm"]),
        "on_lm_head": untrained(base, root / "on_lm_head", target_modules=["q_proj", "lm_head"]),
        "pickled": untrained(base, root / "pickled", safe_serialization=False),
    }


def test_a_lora_adapter_loads_onto_its_base_with_rank_and_alpha_recorded(smollm2, adapters):
    result = check_adapter(adapters["r16"], smollm2.name_or_path, max_lora_rank=16)
    assert result.passed, result.problems
    assert result.loaded_onto == "weights"
    f = result.facts
    assert (f.rank, f.alpha) == (16, 32.0)
    assert sorted(f.target_modules) == ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]
    assert len(f.lora_modules) == 30 * 7  # SmolLM2-135M: 30 decoder layers, 7 projections each
    meta = result.metadata()
    assert meta["servable"] is True and meta["lora_rank"] == 16 and meta["lora_alpha"] == 32.0


def test_a_rank_above_the_serving_limit_fails_naming_the_file_and_key(adapters):
    result = inspect(adapters["r16"], max_lora_rank=8, limit_source="configs/base.yml")
    assert not result.passed
    assert result.problems == [
        f"{adapters['r16']}/adapter_config.json: r: LoRA rank 16 exceeds "
        "serving.max_lora_rank 8 (configs/base.yml); vLLM refuses an adapter whose "
        "rank is above its --max-lora-rank"
    ]


def test_modules_to_save_are_refused_in_the_config_and_in_the_weights(adapters):
    problems = inspect(adapters["saves_norm"], max_lora_rank=64).problems
    where = adapters["saves_norm"]
    assert any(p.startswith(f"{where}/adapter_config.json: modules_to_save: ['model.norm']") for p in problems)
    assert any(
        p.startswith(f"{where}/adapter_model.safetensors: base_model.model.model.norm.weight: not LoRA A/B matrices")
        for p in problems
    ), problems


def test_lora_on_the_output_head_is_not_a_decoder_projection(smollm2, adapters):
    """SmolLM2 ties lm_head to the embeddings, so PEFT also saves the full head: two refusals."""
    result = check_adapter(adapters["on_lm_head"], smollm2.name_or_path, max_lora_rank=64)
    weights = f"{adapters['on_lm_head']}/adapter_model.safetensors"
    assert (
        f"{weights}: lm_head: not linear projections of {smollm2.name_or_path}'s decoder layers (Linear); "
        "a server maps LoRA weights onto those only" in result.problems
    )
    assert any(
        p.startswith(f"{weights}: base_model.model.lm_head.base_layer.weight: not LoRA A/B matrices")
        for p in result.problems
    ), result.problems


def test_pickled_weights_are_refused(adapters):
    problems = inspect(adapters["pickled"], max_lora_rank=64).problems
    where = adapters["pickled"]
    assert problems[0].startswith(f"{where}/adapter_model.bin: pickled weights")
    assert f"{where}/adapter_model.safetensors: missing" in problems


def test_an_adapter_for_another_shape_does_not_load(smollm2, adapters, tmp_path):
    """As if trained on a wider model: PEFT's own loader refuses it onto this base."""
    dest = tmp_path / "wider"
    dest.mkdir()
    (dest / "adapter_config.json").write_text((adapters["r16"] / "adapter_config.json").read_text())
    tensors = load_file(adapters["r16"] / "adapter_model.safetensors")
    key = next(k for k in tensors if k.endswith("layers.0.self_attn.q_proj.lora_A.weight"))
    tensors[key] = tensors[key].new_zeros(16, 960)
    save_file(tensors, dest / "adapter_model.safetensors", metadata={"format": "pt"})
    result = check_adapter(dest, smollm2.name_or_path, max_lora_rank=64)
    assert len(result.problems) == 1 and result.loaded_onto is None
    assert result.problems[0].startswith(
        f"{dest}/adapter_model.safetensors: <peft load>: PEFT could not load it "
        f"onto {smollm2.name_or_path}: RuntimeError"
    )
    assert "size mismatch" in result.problems[0]


def test_an_adapter_trained_on_another_base_version_is_not_loaded(tmp_path, adapters):
    settings = Settings.create(data_dir=str(tmp_path), config_dir=str(CONFIG_DIR))
    adapter = Adapter("polecat", str(adapters["r16"]), "v1", "c", {"base_model": "old-base"})
    result = check_lora_adapter(settings, adapter, BaseModel("/models/smollm2", "new-base", built=True))
    assert result.problems == [
        f"{adapters['r16']}: base_model: trained on base model version old-base, but "
        "base_model is now new-base (/models/smollm2); retrain the adapter on it"
    ]


def test_the_serving_limit_must_be_a_rank_vllm_accepts(config_copy):
    from gastown_assets.config import ConfigError, Project

    assert Project(config_copy, "local", Path("/data")).serving.max_lora_rank == 64
    base = config_copy / "base.yml"
    base.write_text(base.read_text().replace("max_lora_rank: 64", "max_lora_rank: 48"))
    with pytest.raises(ConfigError) as err:
        _ = Project(config_copy, "local", Path("/data")).serving
    assert err.value.path == str(base) and err.value.key == "serving.max_lora_rank"
    assert json.dumps(48) in str(err.value)
