"""One run's view of configs/: base.yml, the profile, and every role it asks for, typed.

A role resolves as base.yml ⊕ roles/<role>.yml ⊕ profiles/<profile>.yml: mappings merge key by
key, lists and scalars replace, and a null in an overlay removes the key. `{data_dir}` is filled
here and nowhere else. Files are read once per Project; a Project lives for one run.
"""

from __future__ import annotations

import copy
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from gastown_assets.config.axolotl import ResolvedConfig, check_keys
from gastown_assets.config.dataset import DatasetSpec
from gastown_assets.config.eval import EvalSpec
from gastown_assets.config.files import ConfigError, Strict, fill_data_dir, merge, parse
from gastown_assets.config.profile import Profile
from gastown_assets.config.retrain import RetrainSpec
from gastown_assets.config.role import ROLE_NAME, Role, RoleFile
from gastown_assets.config.serving import ServingSpec
from gastown_assets.transcripts.roles import RoleRule

SECTIONS = {"dataset": DatasetSpec, "retrain": RetrainSpec, "eval": EvalSpec}


class BaseFile(Strict):
    """base.yml: every section's defaults (retrain and serving apply to all roles)."""

    dataset: dict[str, Any]
    retrain: dict[str, Any] = Field(default_factory=dict)
    eval: dict[str, Any] = Field(default_factory=dict)
    axolotl: dict[str, Any]
    serving: ServingSpec = Field(default_factory=ServingSpec)


def role_names(config_dir: Path) -> list[str]:
    """Partition keys: one per roles/*.yml, validated as safe path segments."""
    names = sorted(p.stem for p in (config_dir / "roles").glob("*.yml"))
    for name in names:
        if not ROLE_NAME.match(name):
            raise ConfigError(
                config_dir / "roles" / f"{name}.yml", "<file name>", f"role name must match {ROLE_NAME.pattern}"
            )
    return names


class Project:
    """configs/ as one run sees it: each file read once, when first asked for, so a broken role
    file fails that role's runs only. `data_dir` is the local folder `{data_dir}` stands for."""

    def __init__(self, config_dir: Path, profile: str, data_dir: Path):
        self.config_dir, self.profile_name, self.data_dir = Path(config_dir), profile, Path(data_dir)
        self._roles: dict[str, Role] = {}
        self._files: dict[str, RoleFile] = {}

    @property
    def base_path(self) -> Path:
        return self.config_dir / "base.yml"

    @cached_property
    def base(self) -> BaseFile:
        return parse(BaseFile, self.base_path)

    @cached_property
    def profile(self) -> Profile:
        return Profile.load(self.config_dir / "profiles" / f"{self.profile_name}.yml")

    @cached_property
    def role_names(self) -> list[str]:
        return role_names(self.config_dir)

    @property
    def serving(self) -> ServingSpec:
        return self.base.serving

    def role(self, name: str) -> Role:
        if name not in self._roles:
            self._roles[name] = self._load(name)
        return self._roles[name]

    def role_path(self, name: str) -> Path:
        return self.config_dir / "roles" / f"{name}.yml"

    def roles(self) -> dict[str, Role]:
        return {name: self.role(name) for name in self.role_names}

    def role_rules(self) -> list[RoleRule]:
        """Every role's cwd patterns, in file-name order (ties in tagging go to the earlier role).
        Only the role files' own facts: a bad section of one role fails that role's runs alone."""
        return [RoleRule(n, self._file(n).role.sessions.cwd_patterns) for n in self.role_names]

    def fill(self, value: Any) -> Any:
        return fill_data_dir(value, self.data_dir)

    def axolotl(self, role: str) -> dict[str, Any]:
        """base ⊕ role ⊕ profile, before dataset paths are known."""
        return self.fill(self._axolotl(role))

    def origin(self, role: str, key: str) -> Path | str:
        """The last file that sets axolotl `key`: profile over role over base; else the run itself."""
        for path, overlay in (
            (self.profile.path, self.profile.axolotl),
            (self.role_path(role), self._file(role).axolotl),
            (self.base_path, self.base.axolotl),
        ):
            if key in overlay:
                return path
        return f"resolved config of {role}/{self.profile_name} (set by lora_adapter)"

    def check_axolotl_keys(self, role: str) -> None:
        """Every axolotl key in base.yml, the role's file and the profile is one Axolotl knows."""
        check_keys(self.base_path, self.base.axolotl)
        check_keys(self.role_path(role), self._file(role).axolotl)
        check_keys(self.profile.path, self.profile.axolotl)

    def resolve(self, role: str, *, train_path: Path, val_path: Path) -> ResolvedConfig:
        """The one Axolotl config a role trains with; dataset paths come from upstream assets."""
        merged = self.axolotl(role)
        merged["datasets"] = [dict(copy.deepcopy(d), path=str(train_path)) for d in merged.get("datasets", [])]
        if not merged["datasets"]:
            raise ConfigError(self.base_path, "axolotl.datasets", "no dataset stanza")
        # The val set is an eval set only: same stanza, never listed under `datasets`. With
        # `eval_strategy: "no"` it is left out, or Axolotl would still evaluate once before step 1.
        if merged.get("eval_strategy") != "no":
            merged["test_datasets"] = [dict(copy.deepcopy(merged["datasets"][0]), path=str(val_path), split="train")]
        merged["val_set_size"] = 0.0
        sources = (str(self.base_path), str(self.role_path(role)), str(self.profile.path))
        return ResolvedConfig(role, self.profile_name, merged, sources)

    def _axolotl(self, role: str) -> dict[str, Any]:
        # the role file's own axolotl section: another of its sections may be broken without harm here
        return merge(merge(self.base.axolotl, self._file(role).axolotl), self.profile.axolotl)

    def _file(self, name: str) -> RoleFile:
        if name not in self._files:
            path = self.role_path(name)
            if not ROLE_NAME.match(name):
                raise ConfigError(path, "<role>", f"role name must match {ROLE_NAME.pattern}")
            self._files[name] = parse(RoleFile, path)
        return self._files[name]

    def _load(self, name: str) -> Role:
        path, file = self.role_path(name), self._file(name)
        specs = {s: self._section(s, path, getattr(file, s)) for s in SECTIONS}
        return Role(name=name, path=path, facts=file.role, **specs)

    def _section(self, section: str, role_path: Path, role_overlay: dict[str, Any]) -> BaseModel:
        """base.yml's section ⊕ the role's ⊕ the profile's (dataset and eval), validated."""
        overlays = [(role_path, role_overlay)]
        if section in ("dataset", "eval"):
            overlays.append((self.profile.path, getattr(self.profile, section)))
        merged = getattr(self.base, section)
        for _, overlay in overlays:
            merged = merge(merged, overlay)
        try:
            return SECTIONS[section].model_validate(merged)
        except ValidationError as exc:
            loc = exc.errors()[0]["loc"]
            # blame the last file that sets the key (the role file when none does)
            path = next((p for p, o in reversed(overlays) if loc and loc[0] in o), role_path)
            key = f"{section}." + ".".join(str(p) for p in loc)
            raise ConfigError(path, key, f"{exc.errors()[0]['msg']} (after merging base.yml)") from None
