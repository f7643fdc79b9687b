"""Checks on a resolved config before any GPU time is spent.

Axolotl's own schema (`validate_config`, with the profile's GPU as capabilities) plus our rules:
explicit LoRA target modules shared by every role, no vision-tower modules, the val file never
trained on, run names derived from the role. Each error names the file and the key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gastown_assets.config import ConfigError, Profile, Project, ResolvedConfig

# Set per run by lora_adapter; a value in a config file would be stale for every other role/version.
DERIVED_KEYS = ("output_dir", "wandb_name", "wandb_run_id", "dataset_prepared_path")
VISION_MODULE = re.compile(r"vision|visual|image|mm_projector|multi_modal|patch_embed", re.I)


def check_derived_keys(project: Project, role: str) -> None:
    merged = project.axolotl(role)
    for key in DERIVED_KEYS:
        if key in merged:
            raise ConfigError(
                project.origin(role, key),
                f"axolotl.{key}",
                "derived per run from the role and adapter version; remove it",
            )


def target_modules(project: Project, role: str) -> list[str]:
    merged = project.axolotl(role)
    where = lambda key: project.origin(role, key)  # noqa: E731
    if merged.get("lora_target_linear"):
        raise ConfigError(
            where("lora_target_linear"),
            "axolotl.lora_target_linear",
            "list lora_target_modules explicitly instead (it would also reach vision towers)",
        )
    modules = merged.get("lora_target_modules")
    if not isinstance(modules, list) or not modules or not all(isinstance(m, str) for m in modules):
        raise ConfigError(
            where("lora_target_modules"),
            "axolotl.lora_target_modules",
            "must be an explicit, non-empty list of module names",
        )
    vision = [m for m in modules if VISION_MODULE.search(m)]
    if vision:
        raise ConfigError(
            where("lora_target_modules"),
            "axolotl.lora_target_modules",
            f"vision-tower modules {vision} have no place in a text-only adapter",
        )
    return modules


def check_target_modules_agree(project: Project) -> list[str]:
    """Every role's adapter targets the same modules, so adapters stay swappable on one server."""
    first_role, first = None, None
    for role in project.role_names:
        modules = target_modules(project, role)
        if first is None:
            first_role, first = role, modules
        elif sorted(modules) != sorted(first):
            raise ConfigError(
                project.origin(role, "lora_target_modules"),
                "axolotl.lora_target_modules",
                f"{role} targets {modules} but {first_role} targets {first}; keep them equal",
            )
    return first or []


def check_run_paths(resolved: ResolvedConfig, val_path: Path) -> None:
    cfg, role = resolved.axolotl, resolved.role
    trained = [str(d.get("path")) for d in cfg.get("datasets", [])]
    if str(val_path) in trained:
        raise ConfigError(
            f"resolved config of {role}", "axolotl.datasets", f"the val file {val_path} is listed as training data"
        )
    if f"/{role}/" not in str(cfg.get("output_dir", "")) + "/":
        raise ConfigError(
            f"resolved config of {role}",
            "axolotl.output_dir",
            f"{cfg.get('output_dir')!r} is not under the {role} role's folder",
        )
    for key in ("wandb_name", "wandb_run_id"):
        if not str(cfg.get(key, "")).startswith(f"{role}-"):
            raise ConfigError(
                f"resolved config of {role}", f"axolotl.{key}", f"{cfg.get(key)!r} is not named after the role"
            )


def capabilities(profile: Profile) -> tuple[dict | None, dict | None]:
    """The GPU the profile declares, as Axolotl's capability checks expect; none on CPU."""
    if profile.gpu is None:
        return None, None
    import torch

    caps = {
        "bf16": True,
        "fp8": False,
        "n_gpu": profile.gpu.count,
        "n_node": 1,
        "compute_capability": profile.gpu.compute_capability,
    }
    return caps, {"torch_version": torch.__version__.split("+")[0]}


def axolotl_validate(project: Project, resolved: ResolvedConfig) -> dict[str, Any]:
    """Axolotl's own schema and cross-field validators (they read no model and reach no hub)."""
    from axolotl.utils.config import validate_config
    from axolotl.utils.dict import DictDefault

    caps, env_caps = capabilities(project.profile)
    try:
        return dict(validate_config(DictDefault(dict(resolved.axolotl)), caps, env_caps))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        path = (
            project.origin(resolved.role, loc[0]) if loc else f"resolved config of {resolved.role}/{resolved.profile}"
        )
        key = "axolotl." + ".".join(loc) if loc else "axolotl"
        raise ConfigError(path, key, f"Axolotl rejects it: {err['msg']}") from None
    except ValueError as exc:  # Axolotl's own cross-field checks raise plain ValueErrors
        raise ConfigError(
            f"resolved config of {resolved.role}/{resolved.profile}", "axolotl", f"Axolotl rejects it: {exc}"
        ) from None


def preflight(project: Project, resolved: ResolvedConfig, val_path: Path) -> dict[str, Any]:
    """All checks for one role's run; returns Axolotl's validated config."""
    project.check_axolotl_keys(resolved.role)
    check_derived_keys(project, resolved.role)
    check_target_modules_agree(project)
    check_run_paths(resolved, val_path)
    return axolotl_validate(project, resolved)
