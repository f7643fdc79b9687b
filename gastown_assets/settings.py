"""Where things live: the environment contract (DESIGN.md "Contract"), read in one place.

Pure: no Dagster. The Dagster resource in defs/resources.py feeds these from EnvVar.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gastown_assets.storage import DataStore
from gastown_assets.transcripts.discover import sessions_roots_from_env

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_CONFIG_DIR = PACKAGE_DIR.parent / "configs"
DEFAULT_DATA_DIR = ".gastown"
DEFAULT_PROFILE = "local"
# Standard AWS variables -> s3fs storage options (an S3-compatible store needs the endpoint).
S3_OPTIONS = {"AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret",
              "AWS_SESSION_TOKEN": "token", "AWS_ENDPOINT_URL": "endpoint_url"}


def storage_options(url: str, env: Mapping[str, str | None]) -> dict[str, Any]:
    """fsspec options for the data dir from AWS_* values (gs:// reads its own credentials)."""
    if not url.startswith(("s3://", "s3a://")):
        return {}
    opts: dict[str, Any] = {opt: env[var] for var, opt in S3_OPTIONS.items() if env.get(var)}
    if env.get("AWS_REGION"):
        opts["client_kwargs"] = {"region_name": env["AWS_REGION"]}
    return opts


@dataclass(frozen=True)
class Settings:
    """`data_dir` is always a local folder: the data dir itself, or the local working copy of
    an object store (`store.url`), where assets write before they publish."""

    sessions_roots: tuple[Path, ...]
    store: DataStore
    profile: str
    config_dir: Path

    @property
    def data_dir(self) -> Path:
        return self.store.local

    @classmethod
    def create(
        cls,
        sessions_dir: str | None = None,
        data_dir: str | None = None,
        profile: str | None = None,
        config_dir: str | None = None,
        work_dir: str | None = None,
        storage: Mapping[str, str | None] | None = None,
    ) -> "Settings":
        """`work_dir`: local working copy of a remote data dir; `storage`: AWS_* values."""
        url = data_dir or DEFAULT_DATA_DIR
        return cls(
            sessions_roots=tuple(sessions_roots_from_env(sessions_dir)),
            store=DataStore.open(url, work_dir, storage_options(url, storage or {})),
            profile=profile or DEFAULT_PROFILE,
            config_dir=Path(config_dir).resolve() if config_dir else DEFAULT_CONFIG_DIR,
        )

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ.get
        return cls.create(
            env("GASTOWN_SESSIONS_DIR"), env("GASTOWN_DATA_DIR"), env("GASTOWN_PROFILE"),
            env("GASTOWN_CONFIG_DIR"), env("GASTOWN_WORK_DIR"),
            {var: env(var) for var in (*S3_OPTIONS, "AWS_REGION")},
        )

    def role_dir(self, kind: str, role: str) -> Path:
        """`<data_dir>/<kind>/<role>` (local); role names are validated where configs load."""
        return self.data_dir / kind / role
