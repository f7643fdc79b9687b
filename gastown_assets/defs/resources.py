"""Environment knobs, read in one place (DESIGN.md "Contract")."""


import os
import pickle
from pathlib import Path

import dagster as dg

from gastown_assets.atomic import atomic_open
from gastown_assets.settings import Settings
from gastown_assets.training.config import Profile, Role, load_profile, load_role


# Object-store credentials: only ever EnvVars of the standard AWS names (masked in the UI).
STORAGE_VARS = {"aws_access_key_id": "AWS_ACCESS_KEY_ID", "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
                "aws_session_token": "AWS_SESSION_TOKEN", "aws_endpoint_url": "AWS_ENDPOINT_URL",
                "aws_region": "AWS_REGION"}


class GastownConfig(dg.ConfigurableResource):
    """GASTOWN_SESSIONS_DIR, GASTOWN_DATA_DIR (a folder or s3://bucket/prefix, gs://…),
    GASTOWN_PROFILE (+ GASTOWN_CONFIG_DIR, GASTOWN_WORK_DIR and the AWS_* credentials of an
    object store); None = default."""

    sessions_dir: str | None = None
    data_dir: str | None = None
    profile: str | None = None
    config_dir: str | None = None
    work_dir: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    aws_endpoint_url: str | None = None
    aws_region: str | None = None

    @classmethod
    def from_env(cls) -> "GastownConfig":
        """EnvVar for each variable that is set, so Dagster shows where a value came from."""
        names = {"sessions_dir": "GASTOWN_SESSIONS_DIR", "data_dir": "GASTOWN_DATA_DIR",
                 "profile": "GASTOWN_PROFILE", "config_dir": "GASTOWN_CONFIG_DIR",
                 "work_dir": "GASTOWN_WORK_DIR", **STORAGE_VARS}
        return cls(**{k: dg.EnvVar(v) for k, v in names.items() if os.environ.get(v)})

    @property
    def settings(self) -> Settings:
        return Settings.create(self.sessions_dir, self.data_dir, self.profile, self.config_dir,
                               self.work_dir, self.storage_env())

    def storage_env(self) -> dict[str, str]:
        """The store's credentials as AWS_* variables, for the trainer process."""
        return {var: getattr(self, f) for f, var in STORAGE_VARS.items() if getattr(self, f)}

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


class HandleIOManager(dg.UPathIOManager):
    """Pickled handles (paths, versions) under `<data dir>/storage`, local or in the object store,
    so a run on another machine finds what upstream runs produced."""

    def dump_to_path(self, context: dg.OutputContext, obj, path) -> None:
        data = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
        if isinstance(path, Path):  # local: temp file and rename
            with atomic_open(path, "wb") as f:
                f.write(data)
        else:  # one PUT: the object appears whole or not at all
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def load_from_path(self, context: dg.InputContext, path):
        return pickle.loads(path.read_bytes())


class StoreIOManager(dg.ConfigurableIOManagerFactory):
    gastown: GastownConfig

    def create_io_manager(self, context) -> HandleIOManager:
        from upath import UPath

        store = self.gastown.settings.store
        return HandleIOManager(base_path=UPath(store.uri("storage"), **store.options))
