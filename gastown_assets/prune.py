"""`gastown prune [--keep N] [--dry-run]`: remove the old versions nothing refers to.

Every run that changes its inputs leaves a new version behind: `transcripts/<role>/<version>/`
and `datasets/<role>/<version>/` (object stores), `adapters/<role>/<version>/` with its job
`jobs/<role>/<version>.yml`, and Axolotl's tokenized caches `prepared/<role>/<key>/`. A version
is kept when

- a pointer names it: `<kind>/<role>/LATEST`, a Dagster handle under `storage/` (the IO
  manager's pickles name the version's key), the registry's `current`, the local `current` link;
- a registry entry names it (`adapters/<role>/registry.json`: every evaluated adapter);
- a kept adapter's job names it (the datasets that adapter trained on);
- it is among the newest `keep` of its kind and role (by last write; at least one is always
  kept, so a run in flight that has published but not yet moved its pointer keeps its version).

Names that start with `.` (a trainer's `.work-<version>` checkpoints, staging folders) are
never touched. On an object store the local working copy is pruned the same way. Pure: no
Dagster (defs/prune.py schedules it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from gastown_assets.storage import LATEST, DataStore, local_files

KINDS = ("transcripts", "datasets", "adapters", "prepared")
REGISTRY = "registry.json"
CURRENT = "current"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Version:
    kind: str
    role: str
    name: str
    files: int
    bytes: int
    written: float  # newest file's last write, epoch seconds
    where: str  # "store" or "local" (an object store's working copy)

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.role}/{self.name}"


@dataclass
class Plan:
    remove: list[Version] = field(default_factory=list)
    keep: list[tuple[Version, str]] = field(default_factory=list)  # with the reason

    @property
    def bytes(self) -> int:
        return sum(v.bytes for v in self.remove)

    def lines(self, dry_run: bool) -> list[str]:
        verb = "would remove" if dry_run else "removed"
        out = [f"{verb} {v.where}: {v.key}/ ({v.files} files, {v.bytes / 1e6:.1f} MB)" for v in self.remove]
        out.append(f"{verb} {len(self.remove)} versions, {self.bytes / 1e6:.1f} MB; kept {len(self.keep)}")
        return out


def _versions(files: dict[str, tuple[int, float]], where: str) -> list[Version]:
    grouped: dict[tuple[str, str, str], list[tuple[int, float]]] = {}
    for key, stat in files.items():
        parts = key.split("/")
        if len(parts) >= 4 and parts[0] in KINDS and _NAME.match(parts[2]) and parts[2] != CURRENT:
            grouped.setdefault((parts[0], parts[1], parts[2]), []).append(stat)
    return [
        Version(kind, role, name, len(stats), sum(s for s, _ in stats), max((w or 0.0) for _, w in stats), where)
        for (kind, role, name), stats in sorted(grouped.items())
    ]


def _read(store: DataStore, key: str) -> bytes:
    try:
        return store.read_bytes(key)
    except (FileNotFoundError, IsADirectoryError):
        return b""


def _references(store: DataStore, roles: Iterable[tuple[str, str]]) -> tuple[bytes, dict[str, str]]:
    """(every handle and pointer's bytes, named versions -> why) for the store."""
    named: dict[str, str] = {}
    handles = b"\n".join(_read(store, k) for k in store.find("storage"))
    for kind, role in roles:
        latest = _read(store, f"{kind}/{role}/{LATEST}").decode(errors="replace").strip()
        if latest:
            named[f"{kind}/{role}/{latest}"] = f"{kind}/{role}/LATEST"
        if kind == "adapters":
            raw = _read(store, f"adapters/{role}/{REGISTRY}")
            registry = orjson.loads(raw) if raw else {}
            for entry in registry.get("history", []):
                named.setdefault(f"adapters/{role}/{entry.get('version')}", "a registry entry")
            if registry.get("current"):
                named[f"adapters/{role}/{registry['current']}"] = "the registry's current"
            link = store.local / "adapters" / role / CURRENT
            if link.is_symlink():
                named[f"adapters/{role}/{link.readlink().name}"] = "the current link"
    return handles, named


def _judge(
    versions: list[Version], keep: int, named: dict[str, str], handles: bytes, store: DataStore | None
) -> dict[str, str | None]:
    """Why each version is kept (None: it goes). Adapters first: a kept adapter's job names
    the datasets it trained on, which are then kept too (`store`: where the jobs are)."""
    by_role: dict[tuple[str, str], list[Version]] = {}
    for v in versions:
        by_role.setdefault((v.kind, v.role), []).append(v)
    decided: dict[str, str | None] = {}
    for kind in ("adapters", "transcripts", "datasets", "prepared"):
        for (k, role), group in sorted(by_role.items()):
            if k != kind:
                continue
            newest = {v.name for v in sorted(group, key=lambda v: (v.written, v.name), reverse=True)[:keep]}
            for v in group:
                why = (
                    named.get(v.key)
                    or ("a Dagster handle" if v.key.encode() in handles else None)
                    or (f"one of the newest {keep}" if v.name in newest else None)
                )
                decided[v.key] = why
                if why and kind == "adapters" and store is not None:
                    job = _read(store, f"jobs/{role}/{v.name}.yml").decode(errors="replace")
                    for ds in re.findall(r"\{data_dir\}/(datasets/[^/\s]+/[^/\s]+)/", job):
                        named.setdefault(ds, f"the job of kept adapter {v.name}")
    return decided


def plan(store: DataStore, keep: int = 3) -> Plan:
    """What prune would remove from the store (and its local working copy) and what it keeps."""
    if keep < 1:
        raise ValueError(f"--keep {keep}: at least the newest version of each role is kept")
    local = _versions({k: v for kind in KINDS for k, v in local_files(store.local, kind).items()}, "local")
    found = _versions({k: v for kind in KINDS for k, v in store.files(kind).items()}, "store") if store.remote else []
    handles, named = _references(store, {(v.kind, v.role) for v in found + local})
    result = Plan()
    decided = _judge(found, keep, named, handles, store)
    # The working copy: a version the store has goes the way it goes there; one the store has
    # not (tokenized caches; a version not yet, or no longer, published) is judged on its own.
    own = _judge([v for v in local if v.key not in decided], keep, named, handles, None if store.remote else store)
    for v in found + local:
        why = decided[v.key] if v.key in decided else own[v.key]
        if why is None:
            result.remove.append(v)
        else:
            result.keep.append((v, why))
    return result


def prune(store: DataStore, keep: int = 3, dry_run: bool = False) -> Plan:
    """Remove the versions plan() names (nothing when dry_run); returns the plan."""
    result = plan(store, keep)
    if dry_run:
        return result
    here = DataStore.open(str(store.local))
    for v in result.remove:
        target = store if v.where == "store" else here
        target.remove(v.key)
        if v.kind == "adapters":
            target.remove(f"jobs/{v.role}/{v.name}.yml")
    return result
