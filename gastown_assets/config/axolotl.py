"""The `axolotl` section: overlays checked against Axolotl's own input model, and the one
resolved config a role's run trains with."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
import yaml

from gastown_assets.config.files import ConfigError

# Keys that say where one run writes, not what it trains: left out of the config digest.
RUN_KEYS = frozenset(
    {
        "output_dir",
        "wandb_name",
        "wandb_run_id",
        "wandb_mode",
        "dataset_prepared_path",
        "resume_from_checkpoint",
        "plugins",
    }
)


@lru_cache(maxsize=1)
def axolotl_keys() -> frozenset[str]:
    """Every key Axolotl's input model knows (imported only when a run is checked: it is heavy)."""
    from axolotl.utils.schemas.config import AxolotlInputConfig

    fields = AxolotlInputConfig.model_fields
    return frozenset(fields) | {f.alias for f in fields.values() if f.alias}


def check_keys(path: Path, overlay: dict[str, Any]) -> None:
    """Axolotl's model accepts unknown keys silently, so a typo would train with the default."""
    known = axolotl_keys()
    for key in overlay:
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ConfigError(path, f"axolotl.{key}", f"not an Axolotl config key{hint}")


@dataclass(frozen=True)
class ResolvedConfig:
    role: str
    profile: str
    axolotl: dict[str, Any]
    sources: tuple[str, ...]

    @property
    def digest(self) -> str:
        """Hash of what shapes the adapter; where this run writes is left out."""
        stable = {k: v for k, v in self.axolotl.items() if k not in RUN_KEYS}
        return hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]

    def for_run(self, output_dir: Path, run_name: str, prepared_dir: Path, run_id: str | None = None) -> ResolvedConfig:
        """Where this run writes and what W&B calls it; one W&B run per materialization."""
        cfg = dict(
            self.axolotl,
            output_dir=str(output_dir),
            wandb_name=run_name,
            wandb_run_id=run_id or run_name,
            dataset_prepared_path=str(prepared_dir),
        )
        return ResolvedConfig(self.role, self.profile, cfg, self.sources)

    def to_yaml(self) -> str:
        head = f"# Resolved Axolotl config for role {self.role!r}, profile {self.profile!r}\n"
        head += "".join(f"# from {s}\n" for s in self.sources)
        return head + yaml.safe_dump(self.axolotl, sort_keys=False)
