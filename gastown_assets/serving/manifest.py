"""The fleet manifest: which adapter every role serves, and vLLM's launch line for all of them.

`serving/manifest.json` in the data dir (a folder or a bucket) lists, per role, the promoted
version (`adapters/<role>/registry.json`'s `current`), where it is, the sha256 of each file,
rank, alpha and target modules, the base model and its data version it was trained on, and the
eval figures it was promoted on. A role without a promoted adapter is listed as `not_promoted`;
one whose adapter no longer fits (a base model that changed since, a rank above
`serving.max_lora_rank`) as `not_servable`, with the reason; neither is served. The vLLM line
serves the base under the name `base` and one LoRA module per served role, named by role, so
an agent harness uses the same model names against vLLM and `gastown serve`.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from gastown_assets.config import VLLM_LORA_RANKS, Project
from gastown_assets.evaluation.promotion import current_entry, read_registry
from gastown_assets.meta import Markdown, PathRef
from gastown_assets.serving.servable import inspect
from gastown_assets.storage import DataStore
from gastown_assets.training.base_model import BaseModel
from gastown_assets.training.launch import ADAPTER_DIR_FILES

MANIFEST_KEY = "serving/manifest.json"
VLLM_SCRIPT_KEY = "serving/vllm-serve.sh"
FORMAT = 1
BASE_NAME = "base"  # the model name of the base without an adapter, here and in the vLLM line
SERVED, NOT_PROMOTED, NOT_SERVABLE = "served", "not_promoted", "not_servable"
# The figures of the registry entry a version was promoted on.
EVAL_KEYS = ("base_val_loss", "adapter_val_loss", "adapter_scenario_score", "replay", "reason", "time")


class ManifestError(RuntimeError):
    pass


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build_manifest(store: DataStore, project: Project, base: BaseModel) -> dict:
    """Every role of configs/roles, from its registry; `base`: the base_model asset's model."""
    spec, base_version = project.serving, base.digest
    roles = {}
    for role in project.role_names:
        if role == BASE_NAME:
            raise ManifestError(
                f"{project.config_dir / 'roles' / f'{role}.yml'}: <file name>: '{BASE_NAME}' names the "
                "base model when serving; rename the role"
            )
        roles[role] = _role(store, str(project.base_path), role, spec.max_lora_rank, base_version)
    manifest = {
        "format": FORMAT,
        "base_model": {"name_or_path": base.name_or_path, "data_version": base_version, "built": base.built},
        "max_lora_rank": spec.max_lora_rank,
        "roles": roles,
    }
    manifest["vllm"] = {"argv": vllm_argv(manifest, store), "pull": pull_commands(manifest, store)}
    return manifest


def _role(store: DataStore, limit_source: str, role: str, max_rank: int, base_version: str) -> dict:
    registry = read_registry(store, role)
    entry = current_entry(registry)
    if entry is None:
        last = registry["history"][-1] if registry["history"] else None
        return {
            "status": NOT_PROMOTED,
            "evaluated": len(registry["history"]),
            "last_reason": last["reason"] if last else "no adapter evaluated yet",
        }
    version = entry["version"]
    key = f"adapters/{role}/{version}"
    names = [n for n in ADAPTER_DIR_FILES if n in set(store.listdir(key))]
    local = store.stage_dir(store.uri(key), names)
    checked = inspect(local, max_rank, names=store.listdir(key), where=store.uri(key), limit_source=limit_source)
    trained_on = (entry.get("datasets") or {}).get("base_model")
    problems = list(checked.problems)
    if trained_on != base_version:
        problems.append(
            f"{store.uri(key)}: base_model: trained on base model version {trained_on}, but the "
            f"served base is {base_version}; retrain the role"
        )
    f = checked.facts
    out = {
        "status": NOT_SERVABLE if problems else SERVED,
        "version": version,
        "location": store.uri(key),
        "files": {n: {"sha256": sha256(local / n), "bytes": (local / n).stat().st_size} for n in names},
        "rank": f.rank if f else None,
        "alpha": f.alpha if f else None,
        "target_modules": f.target_modules if f else None,
        "base_model": {"name_or_path": f.base_model_name_or_path if f else None, "data_version": trained_on},
        "datasets": entry.get("datasets") or {},
        "eval": {k: entry[k] for k in EVAL_KEYS if k in entry},
    }
    if problems:
        out["problems"] = problems
    return out


def served(manifest: dict) -> dict[str, dict]:
    return {role: r for role, r in manifest["roles"].items() if r["status"] == SERVED}


def vllm_max_rank(rank: int) -> int:
    """The smallest rank vLLM's --max-lora-rank accepts that holds `rank`."""
    return next(r for r in VLLM_LORA_RANKS if r >= max(rank, 1))


def _lora_path(store: DataStore, role: str, entry: dict) -> str:
    """Where vLLM reads a role's adapter: the version folder of a local data dir; from a bucket,
    the folder `pull_commands` downloads it to (vLLM reads local folders)."""
    return str(store.local / "adapters" / role / entry["version"]) if not store.remote else f"adapters/{role}"


def vllm_argv(manifest: dict, store: DataStore, host: str = "127.0.0.1", port: int = 8000) -> list[str]:
    """`vllm serve` for the base (as `base`) and every served role's adapter (named by role).
    Tool calls in the training template are Hermes-style `<tool_call>` JSON blocks; vLLM's own
    chat template is the tokenizer's, which is the one the adapters were trained with."""
    roles = served(manifest)
    argv = [
        "vllm",
        "serve",
        manifest["base_model"]["name_or_path"],
        "--served-model-name",
        BASE_NAME,
        "--host",
        host,
        "--port",
        str(port),
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        "hermes",
    ]
    if roles:
        argv += [
            "--enable-lora",
            "--max-lora-rank",
            str(vllm_max_rank(max(r["rank"] for r in roles.values()))),
            "--max-loras",
            str(len(roles)),
            "--lora-modules",
            *(f"{role}={_lora_path(store, role, r)}" for role, r in sorted(roles.items())),
        ]
    return argv


def pull_commands(manifest: dict, store: DataStore) -> list[list[str]]:
    """From a bucket: each served version into ./adapters/<role> first (`gastown pull-adapter`)."""
    if not store.remote:
        return []
    return [
        ["gastown", "pull-adapter", role, f"adapters/{role}", "--version", r["version"]]
        for role, r in sorted(served(manifest).items())
    ]


def vllm_script(manifest: dict) -> str:
    """serving/vllm-serve.sh: the pulls (bucket only), then the vLLM line."""
    lines = [
        "#!/bin/sh",
        f"# Generated from {MANIFEST_KEY} by the served_adapters asset; do not edit.",
        "# Serves the base as 'base' and each promoted role adapter under its role name.",
        "set -e",
    ]
    lines += [shlex.join(c) for c in manifest["vllm"]["pull"]]
    argv = manifest["vllm"]["argv"]
    lines.append("exec " + " \\\n  ".join(_arg_groups(argv)))
    return "\n".join(lines) + "\n"


def _arg_groups(argv: list[str]) -> list[str]:
    """One flag and its values per line."""
    groups, current = [], []
    for a in argv:
        if a.startswith("--") and current:
            groups.append(shlex.join(current))
            current = []
        current.append(a)
    groups.append(shlex.join(current))
    return groups


def command_line(manifest: dict) -> str:
    return shlex.join(manifest["vllm"]["argv"])


def to_bytes(manifest: dict) -> bytes:
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"


def write_manifest(store: DataStore, manifest: dict) -> str:
    """manifest.json and vllm-serve.sh, each one object written whole (temp + rename, one PUT).
    The script first: a reader of the manifest never finds a script older than it."""
    store.write_bytes(VLLM_SCRIPT_KEY, vllm_script(manifest).encode())
    return store.write_bytes(MANIFEST_KEY, to_bytes(manifest))


def read_manifest(store: DataStore) -> dict:
    if not store.exists(MANIFEST_KEY):
        raise ManifestError(
            f"{store.uri(MANIFEST_KEY)}: missing; materialize served_adapters first (make demo "
            "does; or: dagster asset materialize -m gastown_assets.definitions --select served_adapters)"
        )
    try:
        manifest = json.loads(store.read_bytes(MANIFEST_KEY))
    except ValueError as exc:
        raise ManifestError(f"{store.uri(MANIFEST_KEY)}: <json>: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise ManifestError(f"{store.uri(MANIFEST_KEY)}: format: {manifest.get('format')!r}, expected {FORMAT}")
    return manifest


@dataclass(frozen=True)
class Published:
    """The serving stage's outcome: the manifest as written, and where."""

    manifest: dict
    uri: str

    @property
    def version(self) -> str:
        return hashlib.sha256(to_bytes(self.manifest)).hexdigest()[:16]

    def log_to(self, log) -> None:
        """A warning per role not served, then the line (`log`: anything with warning and info)."""
        for role, r in sorted(self.manifest["roles"].items()):
            if r.get("problems"):
                log.warning(f"{role}: not served: {'; '.join(r['problems'])}")
        roles = ", ".join(sorted(served(self.manifest))) or "no role adapter"
        log.info(f"{self.uri}: serving {roles}; vLLM: {command_line(self.manifest)}")

    def metadata(self) -> dict:
        roles = self.manifest["roles"]
        return {
            "manifest": PathRef(self.uri),
            "served_roles": ", ".join(sorted(served(self.manifest))) or "none",
            **{
                f"{role}_status": r["status"] + (f" {r['version']}" if "version" in r else "")
                for role, r in sorted(roles.items())
            },
            "vllm_command": Markdown(f"```sh\n{command_line(self.manifest)}\n```"),
        }


def publish(store: DataStore, project: Project, base: BaseModel) -> Published:
    """Build the fleet manifest from every role's registry and write it (with vllm-serve.sh)."""
    manifest = build_manifest(store, project, base)
    return Published(manifest, write_manifest(store, manifest))
