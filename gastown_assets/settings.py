"""Where things live: the environment contract (DESIGN.md "Contract"), read in one place.

Pure: no Dagster. The Dagster resource in defs/resources.py feeds these from EnvVar.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gastown_assets.transcripts.discover import sessions_roots_from_env

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_CONFIG_DIR = PACKAGE_DIR.parent / "configs"
DEFAULT_DATA_DIR = ".gastown"
DEFAULT_PROFILE = "local"



@dataclass(frozen=True)
class Settings:
    sessions_roots: tuple[Path, ...]
    data_dir: Path
    profile: str
    config_dir: Path

    @classmethod
    def create(
        cls,
        sessions_dir: str | None = None,
        data_dir: str | None = None,
        profile: str | None = None,
        config_dir: str | None = None,
    ) -> "Settings":
        return cls(
            sessions_roots=tuple(sessions_roots_from_env(sessions_dir)),
            data_dir=Path(data_dir or DEFAULT_DATA_DIR).expanduser().resolve(),
            profile=profile or DEFAULT_PROFILE,
            config_dir=Path(config_dir).resolve() if config_dir else DEFAULT_CONFIG_DIR,
        )

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ.get
        return cls.create(
            env("GASTOWN_SESSIONS_DIR"), env("GASTOWN_DATA_DIR"), env("GASTOWN_PROFILE"),
            env("GASTOWN_CONFIG_DIR"),
        )

    def role_dir(self, kind: str, role: str) -> Path:
        """`<data_dir>/<kind>/<role>`; role names are validated where configs load."""
        return self.data_dir / kind / role
