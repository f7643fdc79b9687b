from pathlib import Path

import pytest

from gastown_assets.config import ConfigError, Project, merge, role_names
from tests.support import CONFIG_DIR

ROLES = ["crew", "deacon", "mayor", "polecat", "refinery", "witness"]


def _resolve(role, profile="tiny", config_dir=CONFIG_DIR):
    return (
        Project(config_dir, profile, Path("/data"))
        .resolve(role, train_path=Path("/data/train.jsonl"), val_path=Path("/data/val.jsonl"))
        .axolotl
    )


def test_partitions_are_the_six_gas_town_roles():
    assert role_names(CONFIG_DIR) == ROLES
    assert all(r.system_prompt for r in Project(CONFIG_DIR, "tiny", Path("/data")).roles().values())


def test_overlay_merges_mappings_replaces_lists_and_null_removes():
    base = {"a": {"x": 1, "y": 2}, "mods": ["q", "k"], "gone": 1, "kept": 3}
    out = merge(base, {"a": {"y": 5}, "mods": ["v"], "gone": None})
    assert out == {"a": {"x": 1, "y": 5}, "mods": ["v"], "kept": 3}
    assert base["a"] == {"x": 1, "y": 2}, "merge must not mutate the base"


@pytest.mark.parametrize(
    "role,epochs,warmup",
    [("polecat", 4, 30), ("crew", 4, 30), ("mayor", 3, 50), ("deacon", 3, 50), ("witness", 3, 50), ("refinery", 3, 50)],
)
def test_gpu_recipe_per_role(role, epochs, warmup):
    cfg = _resolve(role, "gpu")
    assert (cfg["num_epochs"], cfg["warmup_steps"]) == (epochs, warmup)
    assert cfg["base_model"] == "Qwen/Qwen2.5-7B-Instruct"
    assert cfg["adapter"] == "qlora" and cfg["load_in_4bit"] is True
    assert (cfg["lora_r"], cfg["lora_alpha"]) == (64, 128)
    assert cfg["lora_target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    assert cfg["sequence_len"] == 4096 and cfg["sample_packing"] is True


def test_local_profile_is_cpu_safe():
    cfg = _resolve("polecat", "tiny")
    assert cfg["adapter"] == "lora" and cfg["load_in_4bit"] is False
    assert cfg["bf16"] is False and cfg["tf32"] is False and cfg["attn_implementation"] == "eager"
    assert cfg["base_model"] == "/data/models/tiny-qwen2"
    assert not any(cfg[k] for k in ("lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel"))


def test_val_file_is_only_an_eval_set():
    cfg = _resolve("polecat")
    assert [d["path"] for d in cfg["datasets"]] == ["/data/train.jsonl"]
    assert [d["path"] for d in cfg["test_datasets"]] == ["/data/val.jsonl"]
    assert cfg["datasets"][0]["type"] == "chat_template"


def test_missing_role_file_names_the_file(config_copy):
    (config_copy / "roles" / "witness.yml").unlink()
    with pytest.raises(ConfigError) as err:
        _resolve("witness", config_dir=config_copy)
    assert "roles/witness.yml" in str(err.value) and "missing" in str(err.value)


def test_unknown_role_key_names_file_and_key(config_copy):
    path = config_copy / "roles" / "mayor.yml"
    path.write_text(path.read_text().replace("  description:", "  descripton: typo\n  description:"))
    with pytest.raises(ConfigError) as err:
        Project(config_copy, "tiny", Path("/data")).roles()
    assert str(path) in str(err.value) and "role.descripton" in str(err.value)


def test_unknown_axolotl_key_in_overlay_names_file_and_key(config_copy):
    path = config_copy / "roles" / "polecat.yml"
    path.write_text(path.read_text() + "  lora_rank: 8\n")
    with pytest.raises(ConfigError) as err:
        Project(config_copy, "tiny", Path("/data")).check_axolotl_keys("polecat")
    assert str(path) in str(err.value) and "axolotl.lora_rank" in str(err.value)


def test_shipped_overlays_use_only_axolotl_keys():
    for role in ROLES:
        for profile in ("local", "tiny", "gpu"):
            Project(CONFIG_DIR, profile, Path("/data")).check_axolotl_keys(role)


def test_role_file_names_cannot_escape_the_data_dir(config_copy):
    (config_copy / "roles" / "Bad Name.yml").write_text("role: {}\n")
    with pytest.raises(ConfigError, match="role name must match"):
        role_names(config_copy)
