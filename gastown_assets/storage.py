"""Where outputs live: a local folder or an object store (`s3://bucket/prefix`, `gs://…`).

Pure: no Dagster. Axolotl, tokenizers and our caches need real files, so every asset works in a
local folder (`DataStore.local`) and publishes what others read to the store; a reader on any
machine stages it back (`DataStore.stage`). On a local store the two are the same folder and
nothing is copied. On an object store, a set of files is uploaded under a new versioned key
before the pointer that names it (a handle, `LATEST`, a registry) moves, and each object is one
PUT, so a reader sees the old set or the new one, never a half-written object.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from gastown_assets.atomic import atomic_open, atomic_path

LATEST = "LATEST"


class StoreError(OSError):
    """An object-store call failed (unreachable, no credentials, no bucket); names the URI."""


URL = re.compile(r"^[a-z][a-z0-9+.-]*://")


def is_url(value: str) -> bool:
    return bool(URL.match(value)) and not value.startswith("file://")


def default_scratch(url: str, cache_home: str | None = None) -> Path:
    """Local working copy of a remote store, one folder per store URL, under `cache_home`
    ($XDG_CACHE_HOME, read by settings.py) or ~/.cache."""
    base = Path(cache_home or Path.home() / ".cache")
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", url.split("://", 1)[1]).strip("-")[:80]
    return base / "gastown" / f"{slug}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class DataStore:
    """`url`: the data dir (absolute local path or object-store URL). `local`: the folder assets
    work in (the data dir itself when local). `options`: fsspec storage options (credentials,
    endpoint), kept out of repr so they never reach a log."""

    url: str
    local: Path
    options: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def open(
        cls,
        url: str,
        scratch: str | Path | None = None,
        options: Mapping[str, Any] | None = None,
        cache_home: str | None = None,
    ) -> DataStore:
        """`scratch`: the working copy of a remote store (default: one per URL under `cache_home`)."""
        if url.startswith("file://"):
            url = url[len("file://") :]
        if not is_url(url):
            path = Path(url).expanduser().resolve()
            return cls(str(path), path, {})
        local = Path(scratch).expanduser().resolve() if scratch else default_scratch(url, cache_home)
        # Other machines write the same bucket: never answer from a cached listing.
        return cls(url.rstrip("/"), local, {"use_listings_cache": False, **(options or {})})

    @property
    def remote(self) -> bool:
        return is_url(self.url)

    @cached_property
    def fs(self):
        import fsspec

        if not self.remote:
            return fsspec.filesystem("file")
        fs, _ = fsspec.core.url_to_fs(self.url, **self.options)
        return fs

    @cached_property
    def _root(self) -> str:
        return self.fs._strip_protocol(self.url) if self.remote else self.url

    def uri(self, key: str) -> str:
        """Where `key` lives, for people and for handles (`s3://…/key` or a local path)."""
        return f"{self.url}/{key}" if self.remote else str(self.local / key)

    def key_of(self, uri: str) -> str:
        prefix = f"{self.url}/" if self.remote else f"{self.local}/"
        if not uri.startswith(prefix):
            raise ValueError(f"{uri} is not in the data dir {self.url}")
        return uri[len(prefix) :]

    def local_key(self, path: Path) -> str:
        """The key of a file or folder in the local working copy."""
        return path.resolve().relative_to(self.local).as_posix()

    def _path(self, key: str) -> str:
        return f"{self._root}/{key}"

    @contextmanager
    def _named(self, key: str) -> Iterator[None]:
        """Store failures name the URI; a missing object stays a FileNotFoundError."""
        try:
            yield
        except (FileNotFoundError, StoreError):
            raise
        except Exception as exc:
            raise StoreError(f"{self.uri(key)}: {type(exc).__name__}: {exc}") from exc

    def exists(self, key: str) -> bool:
        if not self.remote:
            return (self.local / key).exists()
        with self._named(key):
            return self.fs.exists(self._path(key))

    def read_bytes(self, key: str) -> bytes:
        if not self.remote:
            return (self.local / key).read_bytes()
        with self._named(key), self.fs.open(self._path(key), "rb") as f:
            return f.read()

    def write_bytes(self, key: str, data: bytes) -> str:
        """One object, written whole: a temp file and a rename here, a single PUT there."""
        with atomic_open(self.local / key, "wb") as f:
            f.write(data)
        return self.put(key)

    def put(self, key: str, source: Path | None = None) -> str:
        """Upload `source` (default: the local copy of `key`) to `key`; returns its uri."""
        src = source or self.local / key
        if not self.remote:
            if src.resolve() != (self.local / key).resolve():
                with atomic_open(self.local / key, "wb") as f, src.open("rb") as s:
                    shutil.copyfileobj(s, f)
            return self.uri(key)
        # Object stores publish an object when its upload completes, so a reader never sees
        # part of it; a failed upload leaves the previous object.
        if not src.is_file():
            raise FileNotFoundError(f"{src}: nothing to upload to {self.uri(key)}")
        with self._named(key):
            self.fs.put_file(str(src), self._path(key))
        return self.uri(key)

    def publish(self, prefix: str, version: str, files: Iterable[str]) -> dict[str, str]:
        """Upload `<prefix>/<name>` (local copies) under `<prefix>/<version>/<name>`, then move
        the pointer `<prefix>/LATEST` and the unversioned copies. Returns name -> versioned uri.
        Locally the files already sit at their final names (written by rename): no copies."""
        names = list(files)
        if not self.remote:
            return {n: self.uri(f"{prefix}/{n}") for n in names}
        out = {}
        for n in names:
            key = f"{prefix}/{version}/{n}"
            if not self._same_size(key, self.local / prefix / n):  # versions are content-keyed
                self.put(key, self.local / prefix / n)
            out[n] = self.uri(key)
        self.write_bytes(f"{prefix}/{LATEST}", version.encode())
        for n in names:  # the contract names (datasets/<role>/train.jsonl, …), for people
            with self._named(f"{prefix}/{n}"):
                self.fs.copy(self._path(f"{prefix}/{version}/{n}"), self._path(f"{prefix}/{n}"))
        return out

    def put_dir(self, local_dir: Path, prefix: str, names: Iterable[str]) -> str:
        """Upload the named files of a finished folder; the caller moves a pointer after."""
        for n in names:
            self.put(f"{prefix}/{n}", local_dir / n)
        return self.uri(prefix)

    def stage(self, uri: str) -> Path:
        """A local file for `uri`: itself when local; otherwise downloaded, unless the local
        copy has the object's size and was made after the object was last written (an adapter
        version retrained in place is fetched again)."""
        if not self.remote:
            return Path(uri)
        key = self.key_of(uri)
        dest = self.local / key
        if dest.is_file() and self._current(key, dest):
            return dest
        with atomic_path(dest) as tmp:
            self.fetch(key, tmp)
        return dest

    def fetch(self, key: str, dest: Path) -> Path:
        """Copy `key` to a local file of the caller's choosing."""
        if self.remote:
            with self._named(key):
                self.fs.get_file(self._path(key), str(dest))
        else:
            shutil.copy2(self.local / key, dest)
        return dest

    def stage_dir(self, uri: str, names: Iterable[str]) -> Path:
        for n in names:
            self.stage(f"{uri}/{n}")
        return self.local / self.key_of(uri) if self.remote else Path(uri)

    def missing(self, uri: str, names: Iterable[str]) -> list[str]:
        """Which of `names` are not in the folder at `uri`."""
        if not self.remote:
            return [n for n in names if not (Path(uri) / n).is_file()]
        return [n for n in names if not self.exists(f"{self.key_of(uri)}/{n}")]

    def listdir(self, key: str) -> list[str]:
        """Names directly under `key` (empty when there is nothing)."""
        if not self.remote:
            d = self.local / key
            return sorted(p.name for p in d.iterdir()) if d.is_dir() else []
        try:
            with self._named(key):
                found = self.fs.ls(self._path(key), detail=False, refresh=True)
        except FileNotFoundError:
            return []
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in found)

    def find(self, prefix: str) -> list[str]:
        """Keys of every file under `prefix` (recursively; empty when there is none), sorted."""
        return sorted(self.files(prefix))

    def files(self, prefix: str) -> dict[str, tuple[int, float]]:
        """Every file under `prefix` (recursively): key -> (size, last written, epoch seconds).
        Locally, links are not followed (an adapter's `current` is not a second copy)."""
        if not self.remote:
            return local_files(self.local, prefix)
        with self._named(prefix):
            try:
                found = self.fs.find(self._path(prefix), withdirs=False, detail=True)
            except FileNotFoundError:
                return {}
        root = self._root.rstrip("/") + "/"
        # Some stores list a folder (an empty one, too) as an entry of its own: files only.
        return {
            p[len(root) :]: (int(info.get("size") or 0), _written(info))
            for p, info in found.items()
            if p.startswith(root) and info.get("type") != "directory"
        }

    def remove(self, prefix: str) -> list[str]:
        """Delete every file under `prefix` (and `prefix` itself when it is a file); returns the
        keys removed. Locally, the folder goes too."""
        keys = self.find(prefix)
        if not self.remote:
            target = self.local / prefix
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            return keys
        with self._named(prefix):
            if keys:
                self.fs.rm([self._path(k) for k in keys])
            try:  # a store that keeps folders (SeaweedFS's filer) keeps an empty one otherwise
                self.fs.rm(self._path(prefix), recursive=True)
            except FileNotFoundError:
                pass
            self.fs.invalidate_cache(self._path(prefix))
        return keys

    def _current(self, key: str, local: Path) -> bool:
        with self._named(key):
            info = self.fs.info(self._path(key))
        written = _written(info)
        st = local.stat()
        return info.get("size") == st.st_size and written is not None and st.st_mtime >= written

    def _same_size(self, key: str, local: Path) -> bool:
        try:
            with self._named(key):
                return self.fs.size(self._path(key)) == local.stat().st_size
        except FileNotFoundError:
            return False


def _written(info: dict) -> float | None:
    """When an object was last written (epoch seconds), from an fsspec info dict."""
    written = info.get("LastModified") or info.get("updated") or info.get("mtime")
    if hasattr(written, "timestamp"):
        return written.timestamp()
    if isinstance(written, str):
        from datetime import datetime

        return datetime.fromisoformat(written.replace("Z", "+00:00")).timestamp()
    return float(written) if isinstance(written, (int, float)) else None


def local_files(root: Path, prefix: str) -> dict[str, tuple[int, float]]:
    """Files under root/prefix, not following links: key -> (size, mtime)."""
    start = root / prefix
    if start.is_symlink():
        return {}
    if start.is_file():
        st = start.stat()
        return {prefix: (st.st_size, st.st_mtime)}
    out = {}
    for folder, dirs, names in os.walk(start):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
        for name in names:
            path = Path(folder) / name
            if path.is_symlink():
                continue
            st = path.stat()
            out[path.relative_to(root).as_posix()] = (st.st_size, st.st_mtime)
    return out
