"""The base model a profile trains on: the tiny local one (built here) or a hub id (GPU)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from gastown_assets.training import tiny_model
from gastown_assets.training.config import TinyModel
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
    """Build once; rebuild only when the spec in the profile changed."""
    wanted = orjson.dumps(spec.model_dump(), option=orjson.OPT_SORT_KEYS)
    spec_path = model_dir / SPEC_FILE
    if not (spec_path.is_file() and spec_path.read_bytes() == wanted):
        tiny_model.build(spec, corpus_texts(sessions_dir), model_dir, extra_files={SPEC_FILE: wanted})
    return BaseModel(str(model_dir), _digest(model_dir), built=True)
