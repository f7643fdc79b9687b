"""Check overlays against Axolotl's own schema before any training time is spent.

Axolotl's pydantic model accepts unknown keys silently, so a typo in a role overlay would
train with the default instead; we reject it here, naming the file and the key.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from pathlib import Path

from gastown_assets.training.config import ConfigError, load_base, load_profile, load_role


@lru_cache(maxsize=1)
def axolotl_keys() -> frozenset[str]:
    from axolotl.utils.schemas.config import AxolotlInputConfig

    fields = AxolotlInputConfig.model_fields
    return frozenset(fields) | {f.alias for f in fields.values() if f.alias}


def check_keys(path: Path, overlay: dict) -> None:
    known = axolotl_keys()
    for key in overlay:
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ConfigError(path, f"axolotl.{key}", f"not an Axolotl config key{hint}")


def check_role_config(config_dir: Path, role: str, profile: str) -> None:
    """Every axolotl key in base.yml, the role overlay and the profile is one Axolotl knows."""
    check_keys(config_dir / "base.yml", load_base(config_dir).axolotl)
    role_cfg = load_role(config_dir, role)
    check_keys(role_cfg.path, role_cfg.overlay)
    prof = load_profile(config_dir, profile)
    check_keys(prof.path, prof.overlay)
