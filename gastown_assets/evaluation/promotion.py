"""Promotion: the registry names the best evaluated adapter of a role.

The registry (`adapters/<role>/registry.json`, one object written whole) keeps every evaluated
version with its metrics, data versions, time and whether it was promoted; its `current` is the
pointer `pull-adapter` follows. On a local data dir `adapters/<role>/current` is also a relative
symlink swapped in one rename, so a reader sees the old adapter or the new one, never neither.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from gastown_assets.evaluation.report import Report
from gastown_assets.meta import PathRef
from gastown_assets.storage import DataStore

REGISTRY = "registry.json"
CURRENT = "current"


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def registry_key(role: str) -> str:
    return f"adapters/{role}/{REGISTRY}"


def read_registry(store: DataStore, role: str) -> dict:
    key = registry_key(role)
    return orjson.loads(store.read_bytes(key)) if store.exists(key) else {"current": None, "history": []}


def current_entry(registry: dict) -> dict | None:
    return next((h for h in reversed(registry["history"]) if h["version"] == registry["current"]), None)


def decide(report: Report, current: dict | None) -> Decision:
    """Promote only an adapter that passes the gate against its base (held-out loss, command
    accuracy above the base's, parse rate over the floor, no scenario lost) and has a lower
    held-out loss than the promoted one (same val set or not: the loss is what we have)."""
    failures = report.gate_failures()
    if report.memorization is not None and not report.memorization.passed:  # evaluation/memorization.py
        failures.insert(
            0,
            f"it reproduced {len(report.memorization.leaks)} secret(s) removed from its "
            f"training transcripts ({report.memorization.leaked_kinds})",
        )
    if failures:
        return Decision(False, "; ".join(failures))
    if current is None:
        return Decision(True, "first adapter that passes the gate against the base")
    if current["version"] == report.adapter.version:
        return Decision(False, "already the promoted adapter")
    if report.adapter_val_loss < current["adapter_val_loss"]:
        return Decision(True, f"val loss {report.adapter_val_loss:.4f} < promoted {current['adapter_val_loss']:.4f}")
    return Decision(
        False,
        f"val loss {report.adapter_val_loss:.4f} >= promoted {current['adapter_val_loss']:.4f} ({current['version']})",
    )


def record(store: DataStore, role: str, report: Report, decision: Decision) -> dict:
    """Append this evaluation to the registry (written atomically) and return the registry."""
    registry = read_registry(store, role)
    a, replay = report.adapter, report.replay
    registry["history"].append(
        {
            "version": a.version,
            "path": a.path,
            "config_digest": a.config_digest,
            "datasets": report.datasets,
            "base_val_loss": report.base_val_loss,
            "adapter_val_loss": report.adapter_val_loss,
            "adapter_scenario_score": report.adapter_scenario_score,
            "replay": {
                "points": replay.points,
                "base": replay.base.model_dump(),
                "adapter": replay.adapter.model_dump(),
            },
            "promoted": decision.promote,
            "reason": decision.reason,
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    if decision.promote:
        registry["current"] = a.version
    store.write_bytes(registry_key(role), orjson.dumps(registry, option=orjson.OPT_INDENT_2))
    return registry


def point_current(store: DataStore, role: str, version: str) -> str:
    """Check `version` is there; locally, swap the `current` link to it in one rename (relative,
    so the data dir can move). An object store has no links: its registry is the pointer."""
    key = f"adapters/{role}/{version}/adapter_model.safetensors"
    if not store.exists(key):
        raise FileNotFoundError(f"{store.uri(key)}: no such adapter to promote")
    if store.remote:
        return store.uri(f"adapters/{role}/{version}")
    role_dir = store.local / "adapters" / role
    tmp = role_dir / f".{CURRENT}.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(version, target_is_directory=True)
    os.replace(tmp, role_dir / CURRENT)
    return str(role_dir / CURRENT)


@dataclass(frozen=True)
class Promotion:
    """The promotion stage's outcome: the decision and the registry it left."""

    role: str
    evaluated: str  # the adapter version judged
    decision: Decision
    registry: dict
    registry_uri: str
    leaked: bool  # the adapter reproduced a removed secret: recorded, and the stage must fail loudly

    @property
    def current(self) -> dict | None:
        return current_entry(self.registry)

    def summary(self) -> str:
        verb = "promoted" if self.decision.promote else "kept the current adapter"
        return f"{self.role}: {verb}: {self.decision.reason}"

    def metadata(self) -> dict:
        current = self.current
        return {
            "promoted": self.decision.promote,
            "reason": self.decision.reason,
            "current_version": self.registry["current"] or "",
            "current_val_loss": current["adapter_val_loss"] if current else float("nan"),
            "evaluated_version": self.evaluated,
            "registry": PathRef(self.registry_uri),
            "versions_evaluated": len(self.registry["history"]),
        }


def promote(store: DataStore, role: str, report: Report) -> Promotion:
    """Point `current` at the evaluated adapter when it passes its gate and beats the promoted
    one; record the evaluation in the registry either way."""
    decision = decide(report, current_entry(read_registry(store, role)))
    if decision.promote:  # the adapter must be there before the registry names it
        point_current(store, role, report.adapter.version)
    registry = record(store, role, report, decision)
    leaked = report.memorization is not None and not report.memorization.passed
    return Promotion(role, report.adapter.version, decision, registry, store.uri(registry_key(role)), leaked)
