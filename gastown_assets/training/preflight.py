"""Checks on a resolved config before any GPU time is spent.

Axolotl's own schema (`validate_config`, with the profile's GPU as capabilities) plus our rules:
explicit LoRA target modules shared by every role, no vision-tower modules, the val file never
trained on, run names derived from the role. Each error names the file and the key.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gastown_assets.training.config import (
    ConfigError,
    Profile,
    ResolvedConfig,
    load_base,
    load_profile,
    load_role,
    merged_axolotl,
    role_names,
)
from gastown_assets.training.run import OFFLINE_ENV
from gastown_assets.training.validate import check_role_config

# Set per run by lora_adapter; a value in a config file would be stale for every other role/version.
DERIVED_KEYS = ("output_dir", "wandb_name", "wandb_run_id", "dataset_prepared_path")
VISION_MODULE = re.compile(r"vision|visual|image|mm_projector|multi_modal|patch_embed", re.I)


def origin(config_dir: Path, role: str, profile: str, key: str) -> Path | str:
    """The last file that sets `key`: profile over role over base; else the run itself."""
    prof, role_cfg = load_profile(config_dir, profile), load_role(config_dir, role)
    for path, overlay in ((prof.path, prof.overlay), (role_cfg.path, role_cfg.overlay),
                          (config_dir / "base.yml", load_base(config_dir).axolotl)):
        if key in overlay:
            return path
    return f"resolved config of {role}/{profile} (set by lora_adapter)"


def check_derived_keys(config_dir: Path, role: str, profile: str) -> None:
    merged = merged_axolotl(config_dir, load_role(config_dir, role), load_profile(config_dir, profile),
                            Path("{data_dir}"))
    for key in DERIVED_KEYS:
        if key in merged:
            raise ConfigError(origin(config_dir, role, profile, key), f"axolotl.{key}",
                              "derived per run from the role and adapter version; remove it")


def target_modules(config_dir: Path, role: str, profile: str) -> list[str]:
    merged = merged_axolotl(config_dir, load_role(config_dir, role), load_profile(config_dir, profile),
                            Path("{data_dir}"))
    where = lambda key: origin(config_dir, role, profile, key)  # noqa: E731
    if merged.get("lora_target_linear"):
        raise ConfigError(where("lora_target_linear"), "axolotl.lora_target_linear",
                          "list lora_target_modules explicitly instead (it would also reach vision towers)")
    modules = merged.get("lora_target_modules")
    if not isinstance(modules, list) or not modules or not all(isinstance(m, str) for m in modules):
        raise ConfigError(where("lora_target_modules"), "axolotl.lora_target_modules",
                          "must be an explicit, non-empty list of module names")
    vision = [m for m in modules if VISION_MODULE.search(m)]
    if vision:
        raise ConfigError(where("lora_target_modules"), "axolotl.lora_target_modules",
                          f"vision-tower modules {vision} have no place in a text-only adapter")
    return modules


def check_target_modules_agree(config_dir: Path, profile: str) -> list[str]:
    """Every role's adapter targets the same modules, so adapters stay swappable on one server."""
    first_role, first = None, None
    for role in role_names(config_dir):
        modules = target_modules(config_dir, role, profile)
        if first is None:
            first_role, first = role, modules
        elif sorted(modules) != sorted(first):
            raise ConfigError(origin(config_dir, role, profile, "lora_target_modules"),
                              "axolotl.lora_target_modules",
                              f"{role} targets {modules} but {first_role} targets {first}; keep them equal")
    return first or []


def check_run_paths(resolved: ResolvedConfig, val_path: Path) -> None:
    cfg, role = resolved.axolotl, resolved.role
    trained = [str(d.get("path")) for d in cfg.get("datasets", [])]
    if str(val_path) in trained:
        raise ConfigError(f"resolved config of {role}", "axolotl.datasets",
                          f"the val file {val_path} is listed as training data")
    if f"/{role}/" not in str(cfg.get("output_dir", "")) + "/":
        raise ConfigError(f"resolved config of {role}", "axolotl.output_dir",
                          f"{cfg.get('output_dir')!r} is not under the {role} role's folder")
    for key in ("wandb_name", "wandb_run_id"):
        if not str(cfg.get(key, "")).startswith(f"{role}-"):
            raise ConfigError(f"resolved config of {role}", f"axolotl.{key}",
                              f"{cfg.get(key)!r} is not named after the role")


def capabilities(profile: Profile) -> tuple[dict | None, dict | None]:
    """The GPU the profile declares, as Axolotl's capability checks expect; none on CPU."""
    if profile.gpu is None:
        return None, None
    import torch

    caps = {"bf16": True, "fp8": False, "n_gpu": profile.gpu.count, "n_node": 1,
            "compute_capability": profile.gpu.compute_capability}
    return caps, {"torch_version": torch.__version__.split("+")[0]}


def axolotl_validate(config_dir: Path, resolved: ResolvedConfig) -> dict[str, Any]:
    """Axolotl's own schema and cross-field validators, offline."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    from axolotl.utils.config import validate_config
    from axolotl.utils.dict import DictDefault

    caps, env_caps = capabilities(load_profile(config_dir, resolved.profile))
    try:
        return dict(validate_config(DictDefault(dict(resolved.axolotl)), caps, env_caps))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        path = origin(config_dir, resolved.role, resolved.profile, loc[0]) if loc else \
            f"resolved config of {resolved.role}/{resolved.profile}"
        key = "axolotl." + ".".join(loc) if loc else "axolotl"
        raise ConfigError(path, key, f"Axolotl rejects it: {err['msg']}") from None
    except ValueError as exc:  # Axolotl's own cross-field checks raise plain ValueErrors
        raise ConfigError(f"resolved config of {resolved.role}/{resolved.profile}", "axolotl",
                          f"Axolotl rejects it: {exc}") from None


def preflight(config_dir: Path, resolved: ResolvedConfig, val_path: Path) -> dict[str, Any]:
    """All checks for one role's run; returns Axolotl's validated config."""
    check_role_config(config_dir, resolved.role, resolved.profile)
    check_derived_keys(config_dir, resolved.role, resolved.profile)
    check_target_modules_agree(config_dir, resolved.profile)
    check_run_paths(resolved, val_path)
    return axolotl_validate(config_dir, resolved)
