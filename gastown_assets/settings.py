"""Where things live: the environment contract (README "Configuration"), read in this module only.

Pure: no Dagster. The resource in defs/resources.py builds one Settings per run from the
variables below (as Dagster EnvVars, so the UI shows where a value came from); everything else
gets Settings, its Project (configs/, typed) and its DataStore handed in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gastown_assets.config import Project
from gastown_assets.storage import DataStore
from gastown_assets.transcripts.discover import sessions_roots_from_env

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_CONFIG_DIR = PACKAGE_DIR.parent / "configs"
DEFAULT_DATA_DIR = ".gastown"
DEFAULT_PROFILE = "local"
# Settings.create's arguments -> the variables they come from.
GASTOWN_VARS = {
    "sessions_dir": "GASTOWN_SESSIONS_DIR",
    "data_dir": "GASTOWN_DATA_DIR",
    "profile": "GASTOWN_PROFILE",
    "config_dir": "GASTOWN_CONFIG_DIR",
    "work_dir": "GASTOWN_WORK_DIR",
}
# Standard AWS variables -> s3fs storage options (an S3-compatible store needs the endpoint).
S3_OPTIONS = {
    "AWS_ACCESS_KEY_ID": "key",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_SESSION_TOKEN": "token",
    "AWS_ENDPOINT_URL": "endpoint_url",
}
STORAGE_VARS = (*S3_OPTIONS, "AWS_REGION")


def env(name: str, default: str | None = None) -> str | None:
    """One variable of the contract (the process environment is read nowhere else)."""
    return os.environ.get(name, default)


def set_vars(names: Mapping[str, str]) -> dict[str, str]:
    """{key: variable} for the variables that are set: what a resource turns into EnvVars."""
    return {key: var for key, var in names.items() if os.environ.get(var)}


def config_dir() -> Path:
    """GASTOWN_CONFIG_DIR or the repository's configs/: the role files name the partitions."""
    value = env("GASTOWN_CONFIG_DIR")
    return Path(value).resolve() if value else DEFAULT_CONFIG_DIR


def retrain_interval_s() -> int:
    """GASTOWN_RETRAIN_INTERVAL_S: how often the retrain sensor looks (default 60 s)."""
    return int(env("GASTOWN_RETRAIN_INTERVAL_S") or "60")


def hub_offline() -> bool:
    return env("HF_HUB_OFFLINE") == "1"


def storage_options(url: str, values: Mapping[str, str | None]) -> dict[str, Any]:
    """fsspec options for the data dir from AWS_* values (gs:// reads its own credentials)."""
    if not url.startswith(("s3://", "s3a://")):
        return {}
    opts: dict[str, Any] = {opt: values[var] for var, opt in S3_OPTIONS.items() if values.get(var)}
    if values.get("AWS_REGION"):
        opts["client_kwargs"] = {"region_name": values["AWS_REGION"]}
    return opts


@dataclass(frozen=True)
class Settings:
    """`data_dir` is always a local folder: the data dir itself, or the local working copy of
    an object store (`store.url`), where assets write before they publish."""

    sessions_roots: tuple[Path, ...]
    store: DataStore
    project: Project = field(compare=False)

    @property
    def data_dir(self) -> Path:
        return self.store.local

    @property
    def profile(self) -> str:
        return self.project.profile_name

    @property
    def config_dir(self) -> Path:
        return self.project.config_dir

    @classmethod
    def create(
        cls,
        sessions_dir: str | None = None,
        data_dir: str | None = None,
        profile: str | None = None,
        config_dir: str | None = None,
        work_dir: str | None = None,
        storage: Mapping[str, str | None] | None = None,
    ) -> Settings:
        """`work_dir`: local working copy of a remote data dir; `storage`: AWS_* values."""
        url = data_dir or DEFAULT_DATA_DIR
        store = DataStore.open(url, work_dir, storage_options(url, storage or {}), env("XDG_CACHE_HOME"))
        configs = Path(config_dir).resolve() if config_dir else DEFAULT_CONFIG_DIR
        return cls(
            tuple(sessions_roots_from_env(sessions_dir)),
            store,
            Project(configs, profile or DEFAULT_PROFILE, store.local),
        )

    @classmethod
    def from_env(cls) -> Settings:
        return cls.create(
            **{key: env(var) for key, var in GASTOWN_VARS.items()}, storage={var: env(var) for var in STORAGE_VARS}
        )

    def role_dir(self, kind: str, role: str) -> Path:
        """`<data_dir>/<kind>/<role>` (local); role names are validated where configs load."""
        return self.data_dir / kind / role
