"""Config checks that run before any GPU time: Axolotl's schema and our own rules."""

from pathlib import Path

import pytest
import yaml

from gastown_assets.config import ConfigError, Project
from gastown_assets.training.preflight import (
    axolotl_validate,
    check_derived_keys,
    check_run_paths,
    check_target_modules_agree,
    preflight,
)
from gastown_assets.training.vram import for_profile
from tests.support import CONFIG_DIR

ROLES = ["crew", "deacon", "mayor", "polecat", "refinery", "witness"]
VAL = Path("/data/datasets/x/val.jsonl")


def _project(profile, config_dir=CONFIG_DIR):
    return Project(config_dir, profile, Path("/data"))


def _run_config(role, profile, config_dir=CONFIG_DIR):
    resolved = _project(profile, config_dir).resolve(
        role, train_path=Path(f"/data/datasets/{role}/train.jsonl"), val_path=VAL
    )
    return resolved.for_run(
        Path(f"/data/adapters/{role}/.work-v1"), f"{role}-v1", Path(f"/data/prepared/{role}/k"), f"{role}-v1-run1"
    )


def _edit(path: Path, section: str, **values):
    data = yaml.safe_load(path.read_text()) or {}
    data.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(data))


@pytest.mark.parametrize("profile", ["gpu", "gpu-smoke", "local", "tiny"])
def test_every_role_passes_axolotls_schema(profile):
    for role in ROLES:
        validated = preflight(_project(profile), _run_config(role, profile), VAL)
        assert validated["lora_target_modules"] == [
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ]


def test_gpu_config_is_qlora_with_flash_attention_after_axolotls_validation():
    validated = axolotl_validate(_project("gpu"), _run_config("polecat", "gpu"))
    assert validated["adapter"] == "qlora" and validated["load_in_4bit"] is True
    assert validated["attn_implementation"] == "flash_attention_2"
    assert validated["wandb_name"] == "polecat-v1" and validated["wandb_project"] == "gastown-assets"


def test_gpu_smoke_is_the_gpu_recipe_on_the_local_model_within_its_card():
    """What `make gpu-smoke` trains: base.yml's QLoRA recipe (validated by Axolotl with the
    profile's declared H100 as capabilities) on SmolLM2 from its wheel, for about 50 steps."""
    validated = preflight(_project("gpu-smoke"), _run_config("polecat", "gpu-smoke"), VAL)
    assert validated["adapter"] == "qlora" and validated["load_in_4bit"] is True
    assert validated["optimizer"] == "adamw_bnb_8bit" and validated["sample_packing"] is True
    assert validated["gradient_checkpointing"] is True and validated["bf16"] == "auto"
    assert validated["attn_implementation"] == "sdpa"  # ships with torch: no flash-attn build
    assert not any(validated[k] for k in ("lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel"))  # no Triton
    assert validated["base_model"] == "/data/models/smollm2-135m-instruct"  # built by base_model, no hub
    assert 40 <= validated["max_steps"] <= 60
    assert validated["lora_r"] == 64  # base.yml's, not the local profile's
    profile = Project(CONFIG_DIR, "gpu-smoke", Path("/data")).profile
    assert profile.gguf_model == Project(CONFIG_DIR, "local", Path("/data")).profile.gguf_model
    est = for_profile(profile, "/data/models/smollm2-135m-instruct", False, validated)
    assert est is not None and est.total_gib < profile.gpu.memory_gib


def test_bad_value_in_role_overlay_names_the_file_and_key(config_copy):
    _edit(config_copy / "roles" / "crew.yml", "axolotl", learning_rate="fast")
    with pytest.raises(ConfigError) as err:
        preflight(_project("gpu", config_copy), _run_config("crew", "gpu", config_copy), VAL)
    assert err.value.path == str(config_copy / "roles" / "crew.yml")
    assert err.value.key == "axolotl.learning_rate" and "Axolotl rejects it" in str(err.value)


def test_unknown_key_in_role_overlay_fails_before_training(config_copy):
    _edit(config_copy / "roles" / "mayor.yml", "axolotl", lora_rank=8)
    with pytest.raises(ConfigError) as err:
        preflight(_project("gpu", config_copy), _run_config("mayor", "gpu", config_copy), VAL)
    assert err.value.path.endswith("roles/mayor.yml") and err.value.key == "axolotl.lora_rank"


def test_roles_must_target_the_same_modules(config_copy):
    _edit(config_copy / "roles" / "witness.yml", "axolotl", lora_target_modules=["q_proj", "v_proj"])
    with pytest.raises(ConfigError, match="witness targets") as err:
        check_target_modules_agree(_project("gpu", config_copy))
    assert err.value.path.endswith("roles/witness.yml")


@pytest.mark.parametrize(
    "overlay,problem",
    [
        ({"lora_target_modules": ["q_proj", "vision_tower.qkv"]}, "vision-tower"),
        ({"lora_target_linear": True}, "explicitly"),
        ({"lora_target_modules": None}, "explicit, non-empty list"),
    ],
)
def test_target_modules_are_explicit_and_text_only(config_copy, overlay, problem):
    for role in ROLES:  # the same edit everywhere, so only the rule under test can fail
        _edit(config_copy / "roles" / f"{role}.yml", "axolotl", **overlay)
    with pytest.raises(ConfigError, match=problem):
        check_target_modules_agree(_project("gpu", config_copy))


@pytest.mark.parametrize("key", ["output_dir", "wandb_name", "dataset_prepared_path"])
def test_run_names_in_config_files_are_rejected(config_copy, key):
    _edit(config_copy / "base.yml", "axolotl", **{key: "gastown-v1"})
    with pytest.raises(ConfigError, match="derived per run") as err:
        check_derived_keys(_project("gpu", config_copy), "polecat")
    assert err.value.path.endswith("base.yml") and err.value.key == f"axolotl.{key}"


def test_val_file_as_training_data_and_foreign_run_names_are_rejected():
    cfg = _run_config("polecat", "tiny")
    cfg.axolotl["datasets"] = [*cfg.axolotl["datasets"], {"path": str(VAL), "type": "chat_template"}]
    with pytest.raises(ConfigError, match="val file"):
        check_run_paths(cfg, VAL)
    other = _run_config("polecat", "tiny")
    other.axolotl["wandb_run_id"] = "gastown-v1"
    with pytest.raises(ConfigError, match="not named after the role"):
        check_run_paths(other, VAL)
