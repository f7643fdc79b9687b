"""The pre-flight GPU memory estimate: plausible for the shipped GPU recipe, clear when it won't fit."""

from pathlib import Path

import pytest

from gastown_assets.config import ModelShape, Project
from gastown_assets.training.vram import DoesNotFit, check_fits, estimate, for_profile, shape_from_config_json
from tests.support import CONFIG_DIR

QWEN_7B = Project(CONFIG_DIR, "gpu", Path("/data")).profile.gpu.base_model


def _gpu_cfg(**overrides):
    cfg = (
        Project(CONFIG_DIR, "gpu", Path("/d"))
        .resolve("polecat", train_path=Path("/d/t"), val_path=Path("/d/v"))
        .axolotl
    )
    return {**cfg, **overrides}


def test_base_parameter_count_matches_qwen25_7b():
    est = estimate(QWEN_7B, _gpu_cfg())
    assert 7.5e9 < est.base_params < 7.7e9  # Qwen2.5-7B: 7.62 B parameters
    # r=64 on all seven projections of 28 layers: 161.5 M LoRA parameters
    assert est.lora_params == 64 * 28 * (4 * 3584 + 2 * (3584 + 512) + 3 * (3584 + 18944)) == 161_480_704


def test_shipped_qlora_recipe_fits_one_80gb_card_with_room():
    est = estimate(QWEN_7B, _gpu_cfg())
    assert 4.5 < est.parts["base weights"] < 6.5  # 4-bit linears + 16-bit embeddings
    assert 10 < est.total_gib < 40
    check_fits(est, Project(CONFIG_DIR, "gpu", Path("/data")).profile.gpu.memory_gib, "gpu.yml")


def test_full_precision_weights_cost_more_than_4bit():
    assert estimate(QWEN_7B, _gpu_cfg(load_in_4bit=False, adapter="lora")).parts["base weights"] > 14


def test_too_long_a_sequence_fails_with_the_number_and_the_fix():
    est = estimate(QWEN_7B, _gpu_cfg(sequence_len=65536, micro_batch_size=4))
    with pytest.raises(DoesNotFit, match=r"gpu.yml: gpu.memory_gib: the run needs about \d+\.\d GiB") as err:
        check_fits(est, 80, "gpu.yml")
    assert "sequence_len or micro_batch_size" in str(err.value)


def test_estimate_table_lists_every_part_and_the_limit():
    table = estimate(QWEN_7B, _gpu_cfg()).to_markdown(80)
    for part in ("base weights", "LoRA weights, grads, optimizer", "activations", "logits", "CUDA context"):
        assert part in table
    assert "of 80 GiB" in table


def test_shape_comes_from_a_local_models_config_json(tmp_path):
    (tmp_path / "config.json").write_text(
        '{"hidden_size": 64, "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,'
        ' "num_key_value_heads": 2, "vocab_size": 4096, "tie_word_embeddings": true, "model_type": "qwen2"}'
    )
    assert shape_from_config_json(tmp_path) == ModelShape(
        hidden_size=64,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=4096,
        tie_word_embeddings=True,
    )
    assert shape_from_config_json(tmp_path / "missing") is None


def test_gpu_profile_checks_its_card_and_cpu_profile_only_estimates(tmp_path):
    gpu = Project(CONFIG_DIR, "gpu", Path("/data")).profile
    assert for_profile(gpu, "Qwen/Qwen2.5-7B-Instruct", False, _gpu_cfg()).total_gib < gpu.gpu.memory_gib
    with pytest.raises(DoesNotFit, match=r"profiles/gpu.yml: gpu.memory_gib"):
        for_profile(gpu, "Qwen/Qwen2.5-7B-Instruct", False, _gpu_cfg(sequence_len=131072))
    tiny = Project(CONFIG_DIR, "tiny", Path("/data")).profile
    assert for_profile(tiny, str(tmp_path), True, _gpu_cfg(sequence_len=131072)) is None  # no shape known
