"""One loaded base and every served role's adapter on it (PEFT's multi-adapter API), answering
one chat completion at a time.

A request names a model: `base` runs the base with the adapters disabled, a role name runs that
role's adapter. Which adapter is active is state of the one shared model (`set_adapter`,
`disable_adapter`), so generation is serialised with a lock: two requests in flight would switch
each other's adapter mid-reply. PEFT's mixed-batch inference (`generate(adapter_names=[...])`)
would let different adapters share one batch, but it needs requests batched together (padding,
a stopping rule per row) and on a CPU one reply already uses every core, so a lock costs little
here; vLLM's line (manifest.py) is the batched path on a GPU.

Replies reuse evaluation/replay.reply: the training chat template, greedy unless the request
samples, and generation stops once the first tool call's JSON is complete.

A new manifest (a promotion, via the served_adapters asset) is loaded beside the running fleet
and swapped in under the lock, so a reply never mixes two fleets and the server never restarts.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gastown_assets.evaluation.replay import Reply, reply
from gastown_assets.serving.manifest import BASE_NAME, ManifestError, read_manifest, served, sha256, to_bytes
from gastown_assets.serving.servable import CONFIG_FILE, WEIGHTS_FILE
from gastown_assets.storage import DataStore

log = logging.getLogger("gastown.serve")


class UnknownModel(LookupError):
    def __init__(self, name: str, served_names: list[str]):
        self.name, self.served_names = name, served_names
        super().__init__(f"model {name!r} is not served here; served models: {', '.join(served_names)}")


@dataclass
class Fleet:
    model: Any  # a PeftModel holding one adapter per served role, or the bare base when none is
    tokenizer: Any
    versions: dict[str, str]  # role -> adapter version
    base: dict  # the manifest's base_model
    dtype: str
    digest: str  # of the manifest it was loaded from

    @property
    def names(self) -> list[str]:
        return [BASE_NAME, *sorted(self.versions)]


def manifest_digest(manifest: dict) -> str:
    return hashlib.sha256(to_bytes(manifest)).hexdigest()[:16]


def stage_adapter(store: DataStore, role: str, entry: dict) -> Path:
    """The role's two PEFT files on this machine, checked against the manifest's sha256."""
    names = (CONFIG_FILE, WEIGHTS_FILE)
    local = store.stage_dir(entry["location"], names)
    for n in names:
        want = entry["files"][n]["sha256"]
        if sha256(local / n) != want:
            raise ManifestError(
                f"{entry['location']}/{n}: sha256 differs from the manifest's for {role} "
                f"{entry['version']}; the adapter changed after served_adapters ran"
            )
    return local


def load_fleet(store: DataStore, manifest: dict, base_path: str, dtype: str = "auto") -> Fleet:
    """The base (in the inference dtype: bf16 on CUDA or a CPU with bf16 kernels) and every served
    role's adapter. A role whose files do not match the manifest is left out, with a warning."""
    from peft import PeftModel

    from gastown_assets.evaluation.run import inference_dtype, load_base

    torch_dtype = inference_dtype(dtype)
    model, tokenizer = load_base(base_path)
    model = model.to(dtype=torch_dtype).eval()
    versions, peft = {}, None
    for role, entry in sorted(served(manifest).items()):
        try:
            local = stage_adapter(store, role, entry)
        except (ManifestError, OSError) as exc:
            log.warning("not serving %s: %s", role, exc)
            continue
        if peft is None:
            peft = PeftModel.from_pretrained(model, str(local), adapter_name=role)
        else:
            peft.load_adapter(str(local), adapter_name=role)
        versions[role] = entry["version"]
    chosen = (peft or model).eval()
    return Fleet(
        chosen, tokenizer, versions, manifest["base_model"], str(torch_dtype).split(".")[-1], manifest_digest(manifest)
    )


class Engine:
    """The fleet behind the endpoint; one generation at a time (see the module docstring)."""

    def __init__(self, fleet: Fleet):
        self._fleet = fleet
        self._lock = threading.Lock()

    @property
    def fleet(self) -> Fleet:
        return self._fleet

    def names(self) -> list[str]:
        return self._fleet.names

    def complete(
        self, name: str, messages: list[dict], max_tokens: int, sampling: dict | None = None, seed: int | None = None
    ) -> tuple[Reply, str]:
        """The reply of model `name` and the version that gave it (`base-<data version>` for the base)."""
        import torch

        with self._lock:
            fleet = self._fleet
            if name not in fleet.names:
                raise UnknownModel(name, fleet.names)
            if name == BASE_NAME:
                active = fleet.model.disable_adapter() if fleet.versions else contextlib.nullcontext()
                version = f"{BASE_NAME}-{fleet.base['data_version']}"
            else:
                fleet.model.set_adapter(name)
                active, version = contextlib.nullcontext(), f"{name}-{fleet.versions[name]}"
            if seed is not None:
                torch.manual_seed(seed)
            with active:
                return reply(fleet.model, fleet.tokenizer, messages, max_tokens, **(sampling or {})), version

    def swap(self, fleet: Fleet) -> None:
        with self._lock:
            self._fleet = fleet


class ManifestWatch:
    """Polls the manifest (a file or a bucket object) every `interval_s`; a changed one is loaded
    beside the running fleet and swapped in. A broken manifest or adapter keeps the old fleet."""

    def __init__(self, engine: Engine, store: DataStore, base_path_for, interval_s: float):
        self.engine, self.store, self.base_path_for, self.interval_s = engine, store, base_path_for, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="manifest-watch", daemon=True)

    def start(self) -> ManifestWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> bool:
        """Reload when the manifest changed; True when a new fleet was swapped in."""
        manifest = read_manifest(self.store)
        if manifest_digest(manifest) == self.engine.fleet.digest:
            return False
        fleet = load_fleet(self.store, manifest, self.base_path_for(manifest))
        before = self.engine.fleet.versions
        self.engine.swap(fleet)
        log.warning(
            "reloaded %s: %s (was %s)",
            self.store.uri("serving/manifest.json"),
            _describe(fleet.versions),
            _describe(before),
        )
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
            except Exception as exc:  # keep serving what is loaded
                log.warning("manifest reload failed, still serving the loaded adapters: %s", exc)


def _describe(versions: dict[str, str]) -> str:
    return ", ".join(f"{r} {v}" for r, v in sorted(versions.items())) or "base only"
