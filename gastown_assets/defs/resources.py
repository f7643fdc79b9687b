"""The resources: the environment contract (gastown_assets/settings.py) as Dagster EnvVars, built
into one Settings (Project + DataStore) per run, and the IO manager over the data store."""

import pickle
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from gastown_assets import settings as env
from gastown_assets.atomic import atomic_open
from gastown_assets.config import Project, Role
from gastown_assets.settings import Settings
from gastown_assets.training.plan import WandbChoice

# Object-store credentials: only ever EnvVars of the standard AWS names (masked in the UI).
STORAGE_VARS = {var.lower(): var for var in env.STORAGE_VARS}


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

    _settings: Settings | None = PrivateAttr(default=None)

    @classmethod
    def from_env(cls) -> "GastownConfig":
        """EnvVar for each variable that is set, so Dagster shows where a value came from."""
        names = {**env.GASTOWN_VARS, **STORAGE_VARS}
        return cls(**{k: dg.EnvVar(v) for k, v in env.set_vars(names).items()})

    @property
    def settings(self) -> Settings:
        """Built on first use and kept: configs/ are read once per run (a resource lives for one)."""
        if self._settings is None:
            self._settings = Settings.create(
                self.sessions_dir, self.data_dir, self.profile, self.config_dir, self.work_dir, self.storage_env()
            )
        return self._settings

    @property
    def project(self) -> Project:
        return self.settings.project

    def storage_env(self) -> dict[str, str]:
        """The store's credentials as AWS_* variables, for the trainer process."""
        return {var: getattr(self, f) for f, var in STORAGE_VARS.items() if getattr(self, f)}

    def role(self, name: str) -> Role:
        return self.project.role(name)


class WandbConfig(dg.ConfigurableResource):
    """W&B for the trainer: WANDB_API_KEY only ever comes from the environment (an EnvVar), and
    WANDB_MODE, when set, overrides the profile's `wandb_mode` (offline keeps a local run)."""

    api_key: str | None = None
    mode: str | None = None
    entity: str | None = None

    @classmethod
    def from_env(cls) -> "WandbConfig":
        names = {"api_key": "WANDB_API_KEY", "mode": "WANDB_MODE", "entity": "WANDB_ENTITY"}
        return cls(**{k: dg.EnvVar(v) for k, v in env.set_vars(names).items()})

    def choice(self) -> WandbChoice:
        return WandbChoice(self.mode, bool(self.api_key))

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
