"""The base model a profile trains on: SmolLM2 converted from the GGUF in its wheel (the CPU
default), the tiny Qwen2 built here (fast wiring tests), or a hub id (GPU)."""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from gastown_assets import settings
from gastown_assets.config import ConfigError, GgufModel, Project, TinyModel
from gastown_assets.samples import SESSIONS_DIR as SAMPLE_SESSIONS
from gastown_assets.training import gguf_model, tiny_model
from gastown_assets.transcripts import ParseStats, find_session_files, read_sessions

SPEC_FILE = "gastown_tiny_model.json"


@dataclass(frozen=True)
class BaseModel:
    name_or_path: str
    digest: str  # content hash of a built model, or the hub id: the asset's data version
    built: bool


def corpus_texts(sessions_dir: Path) -> Iterator[str]:
    """Text the tiny tokenizer learns from: the shipped sample sessions, as rows render them."""
    stats = ParseStats()
    for f in find_session_files([sessions_dir]):
        for session in read_sessions(f.path, stats):
            for turn in session.turns:
                yield turn.text
                for call in turn.tool_calls:
                    yield orjson.dumps({"name": call.name, "arguments": call.arguments}).decode()


def _digest(model_dir: Path) -> str:
    h = hashlib.sha256()
    for name in ("model.safetensors", "tokenizer.json", "config.json", SPEC_FILE):
        h.update((model_dir / name).read_bytes())
    return h.hexdigest()[:16]


def ensure_tiny(spec: TinyModel, model_dir: Path, sessions_dir: Path) -> BaseModel:
    """Build once; rebuild only when the spec in the profile changed. A lock file keeps
    role partitions running at once from building it side by side."""
    wanted = orjson.dumps(spec.model_dump(), option=orjson.OPT_SORT_KEYS)
    spec_path = model_dir / SPEC_FILE
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(model_dir.with_name(f".{model_dir.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (spec_path.is_file() and spec_path.read_bytes() == wanted):
            tiny_model.build(spec, corpus_texts(sessions_dir), model_dir, extra_files={SPEC_FILE: wanted})
    return BaseModel(str(model_dir), _digest(model_dir), built=True)


def ensure_gguf(spec: GgufModel, model_dir: Path, where: Path) -> BaseModel:
    """Convert once; again only when the GGUF's bytes or the conversion spec changed."""
    wanted = gguf_model.conversion_spec(spec, gguf_model.file_sha256(gguf_model.gguf_path(spec, where)))
    raw = orjson.dumps(wanted, option=orjson.OPT_SORT_KEYS)
    spec_path = model_dir / gguf_model.SPEC_FILE
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(model_dir.with_name(f".{model_dir.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (spec_path.is_file() and spec_path.read_bytes() == raw):
            gguf_model.convert(gguf_model.gguf_path(spec, where), model_dir, {gguf_model.SPEC_FILE: raw})
    return BaseModel(str(model_dir), gguf_model.data_version(wanted), built=True)


def resolve_base_model(project: Project) -> BaseModel:
    """The profile's base model: converted or built here when missing, or the hub id."""
    profile = project.profile
    if profile.gguf_model is not None:
        return ensure_gguf(profile.gguf_model, Path(project.fill(profile.gguf_model.path)), profile.path)
    if profile.tiny_model is not None:
        return ensure_tiny(profile.tiny_model, Path(project.fill(profile.tiny_model.path)), SAMPLE_SESSIONS)
    name = profile.axolotl.get("base_model", project.base.axolotl.get("base_model"))
    where = profile.path if "base_model" in profile.axolotl else project.base_path
    return check_model_reachable(str(project.fill(name)), where)


def check_model_reachable(name: str, where: Path) -> BaseModel:
    """A local path must hold a model; a hub id must be in the local cache when offline.
    Either failure names the config file and key now, not minutes into Axolotl's startup."""
    if name.startswith(("/", "./", "../", "~")):
        path = Path(name).expanduser()
        if not (path / "config.json").is_file():
            raise ConfigError(where, "axolotl.base_model", f"no model at {path} (no config.json)")
        return BaseModel(str(path), hashlib.sha256((path / "config.json").read_bytes()).hexdigest()[:16], built=False)
    if settings.hub_offline():
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(name, "config.json"), str):
            raise ConfigError(
                where,
                "axolotl.base_model",
                f"{name} is not in the local model cache and "
                "HF_HUB_OFFLINE=1; download it first (infra/runpod_setup.sh does)",
            )
    return BaseModel(name, name, built=False)
