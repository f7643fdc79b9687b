"""Promotion: `adapters/<role>/current` points at the best evaluated adapter, with a registry.

The registry (`adapters/<role>/registry.json`) keeps every evaluated version with its metrics,
data versions, time and whether it was promoted. `current` is a relative symlink swapped in one
rename, so a reader sees the old adapter or the new one, never neither.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import orjson

from gastown_assets.atomic import atomic_open

REGISTRY = "registry.json"
CURRENT = "current"


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def read_registry(role_dir: Path) -> dict:
    path = role_dir / REGISTRY
    return orjson.loads(path.read_bytes()) if path.is_file() else {"current": None, "history": []}


def current_entry(registry: dict) -> dict | None:
    return next((h for h in reversed(registry["history"]) if h["version"] == registry["current"]), None)


def decide(report: dict, current: dict | None) -> Decision:
    """Promote only an adapter that beats its base, does not lose scenario behaviours, and has
    a lower held-out loss than the promoted one (same val set or not: the loss is what we have)."""
    if not report["adapter_beats_base"]:
        return Decision(False, f"does not beat the base ({report['adapter_val_loss']:.4f} vs {report['base_val_loss']:.4f})")
    if report["scenarios_regress"]:
        return Decision(False, "meets fewer scenario behaviours than the base")
    if current is None:
        return Decision(True, "first adapter that beats the base")
    if current["version"] == report["adapter"]["version"]:
        return Decision(False, "already the promoted adapter")
    if report["adapter_val_loss"] < current["adapter_val_loss"]:
        return Decision(True, f"val loss {report['adapter_val_loss']:.4f} < promoted {current['adapter_val_loss']:.4f}")
    return Decision(False, f"val loss {report['adapter_val_loss']:.4f} >= promoted {current['adapter_val_loss']:.4f} "
                           f"({current['version']})")


def record(role_dir: Path, report: dict, decision: Decision) -> dict:
    """Append this evaluation to the registry (written atomically) and return the registry."""
    registry = read_registry(role_dir)
    a = report["adapter"]
    registry["history"].append({
        "version": a["version"], "path": a["path"], "config_digest": a["config_digest"],
        "datasets": report["datasets"], "base_val_loss": report["base_val_loss"],
        "adapter_val_loss": report["adapter_val_loss"], "adapter_scenario_score": report["adapter_scenario_score"],
        "promoted": decision.promote, "reason": decision.reason,
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })
    if decision.promote:
        registry["current"] = a["version"]
    role_dir.mkdir(parents=True, exist_ok=True)
    with atomic_open(role_dir / REGISTRY, "wb") as f:
        f.write(orjson.dumps(registry, option=orjson.OPT_INDENT_2))
    return registry


def point_current(role_dir: Path, version: str) -> Path:
    """Swap `current` to `version` in one rename (a relative link, so the data dir can move)."""
    if not (role_dir / version).is_dir():
        raise FileNotFoundError(f"{role_dir / version}: no such adapter to promote")
    tmp = role_dir / f".{CURRENT}.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(version, target_is_directory=True)
    os.replace(tmp, role_dir / CURRENT)
    return role_dir / CURRENT
