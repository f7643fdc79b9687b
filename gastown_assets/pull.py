"""`python -m gastown_assets pull-adapter ROLE [DEST]`: a role's promoted (or a named) adapter,
from the data dir (local or object store) to a folder that `PeftModel.from_pretrained` and
vLLM's LoRA loading read as it is."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from gastown_assets.atomic import replace_dir
from gastown_assets.config import ROLE_NAME
from gastown_assets.evaluation.promotion import read_registry, registry_key
from gastown_assets.storage import DataStore
from gastown_assets.training.launch import ADAPTER_DIR_FILES, ADAPTER_FILES

VERSION = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class PullError(RuntimeError):
    pass


def pick_version(store: DataStore, role: str, version: str | None) -> str:
    """The named version, else the registry's promoted one."""
    if not ROLE_NAME.match(role):
        raise PullError(f"role {role!r}: must match {ROLE_NAME.pattern}")
    if version:
        if not VERSION.match(version):
            raise PullError(f"version {version!r}: not an adapter version")
        return version
    registry = read_registry(store, role)
    if not registry["current"]:
        evaluated = [h["version"] for h in registry["history"]]
        raise PullError(
            f"{store.uri(registry_key(role))}: no promoted adapter for {role} "
            f"(evaluated: {evaluated or 'none'}); name a version (pull-adapter --version, replay --adapter)"
        )
    return registry["current"]


def pull_adapter(store: DataStore, role: str, dest: Path | None = None, version: str | None = None) -> Path:
    """Download into `dest` (default ./<role>-<version>), replacing it whole when complete."""
    version = pick_version(store, role, version)
    key = f"adapters/{role}/{version}"
    names = [n for n in ADAPTER_DIR_FILES if n in set(store.listdir(key))]
    missing = [n for n in ADAPTER_FILES if n not in names]
    if missing:
        raise PullError(f"{store.uri(key)}: no adapter there (missing {', '.join(missing)})")
    dest = (dest or Path.cwd() / f"{role}-{version}").resolve()
    partial = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for n in names:
        store.fetch(f"{key}/{n}", partial / n)
    replace_dir(partial, dest)
    return dest
