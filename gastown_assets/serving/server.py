"""`gastown serve`: the base and every promoted role adapter of the fleet manifest behind an
OpenAI-compatible endpoint on this machine (the CPU default, or any machine without vLLM)."""

from __future__ import annotations

import logging

from gastown_assets.serving.app import DEFAULT_MAX_TOKENS, create_app
from gastown_assets.serving.engine import Engine, ManifestWatch, load_fleet
from gastown_assets.serving.manifest import MANIFEST_KEY, read_manifest
from gastown_assets.settings import Settings
from gastown_assets.training.base_model import BaseModel

log = logging.getLogger("gastown.serve")


def base_path_for(settings: Settings):
    """The manifest's base model on this machine (staged from a bucket when it was built here)."""
    from gastown_assets.training.remote import stage_base_model

    def path(manifest: dict) -> str:
        b = manifest["base_model"]
        base = BaseModel(b["name_or_path"], b["data_version"], bool(b.get("built")))
        return stage_base_model(settings.store, settings.project.profile, base)

    return path


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8000,
    watch_s: float = 5.0,
    max_tokens: int = DEFAULT_MAX_TOKENS,
) -> None:
    """Load the fleet, watch the manifest (every `watch_s` seconds; 0: never), serve until stopped."""
    import uvicorn

    store = settings.store
    manifest = read_manifest(store)
    base_path = base_path_for(settings)
    engine = Engine(load_fleet(store, manifest, base_path(manifest)))
    fleet = engine.fleet
    log.warning(
        "serving %s (%s) and %s on http://%s:%d/v1 from %s",
        fleet.base["name_or_path"],
        fleet.dtype,
        ", ".join(f"{r} {v}" for r, v in sorted(fleet.versions.items())) or "no role adapter",
        host,
        port,
        store.uri(MANIFEST_KEY),
    )
    watch = ManifestWatch(engine, store, base_path, watch_s).start() if watch_s > 0 else None
    try:
        uvicorn.run(create_app(engine, max_tokens), host=host, port=port, log_level="info")
    finally:
        if watch:
            watch.stop()
