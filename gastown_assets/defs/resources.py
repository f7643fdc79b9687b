"""Environment knobs, read in one place (DESIGN.md "Contract")."""


import os

import dagster as dg

from gastown_assets.settings import Settings
from gastown_assets.training.config import Profile, Role, load_profile, load_role


class GastownConfig(dg.ConfigurableResource):
    """GASTOWN_SESSIONS_DIR, GASTOWN_DATA_DIR, GASTOWN_PROFILE (+ GASTOWN_CONFIG_DIR); None = default."""

    sessions_dir: str | None = None
    data_dir: str | None = None
    profile: str | None = None
    config_dir: str | None = None

    @classmethod
    def from_env(cls) -> "GastownConfig":
        """EnvVar for each variable that is set, so Dagster shows where a value came from."""
        names = {"sessions_dir": "GASTOWN_SESSIONS_DIR", "data_dir": "GASTOWN_DATA_DIR",
                 "profile": "GASTOWN_PROFILE", "config_dir": "GASTOWN_CONFIG_DIR"}
        return cls(**{k: dg.EnvVar(v) for k, v in names.items() if os.environ.get(v)})

    @property
    def settings(self) -> Settings:
        return Settings.create(self.sessions_dir, self.data_dir, self.profile, self.config_dir)

    def role(self, name: str) -> Role:
        return load_role(self.settings.config_dir, name)

    def load_profile(self) -> Profile:
        s = self.settings
        return load_profile(s.config_dir, s.profile)


class WandbConfig(dg.ConfigurableResource):
    """W&B for the trainer: WANDB_API_KEY only ever comes from the environment (an EnvVar), and
    WANDB_MODE, when set, overrides the profile's `wandb_mode` (offline keeps a local run)."""

    api_key: str | None = None
    mode: str | None = None
    entity: str | None = None

    @classmethod
    def from_env(cls) -> "WandbConfig":
        names = {"api_key": "WANDB_API_KEY", "mode": "WANDB_MODE", "entity": "WANDB_ENTITY"}
        return cls(**{k: dg.EnvVar(v) for k, v in names.items() if os.environ.get(v)})

    def trainer_env(self) -> dict[str, str]:
        env = {"WANDB_API_KEY": self.api_key, "WANDB_ENTITY": self.entity}
        return {k: v for k, v in env.items() if v}

    def run_mode(self, profile_mode: str | None) -> str:
        """online without a key would fail mid-run (or prompt): fall back to offline, said in logs."""
        mode = self.mode or profile_mode or "disabled"
        return "offline" if mode == "online" and not self.api_key else mode
