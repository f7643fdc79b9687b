"""Atomic outputs: write beside the target, fsync, rename. A killed run leaves the old file."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def _temp_beside(path: Path) -> tuple[int, str]:
    """A new, empty temp file next to `path` (its folder made when missing): (fd, name)."""
    try:
        return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)


def _commit(tmp: str, path: Path) -> None:
    os.chmod(tmp, 0o644)  # mkstemp makes it 0600
    os.replace(tmp, path)


@contextmanager
def atomic_open(path: Path, mode: str = "wb", durable: bool = True) -> Iterator[IO]:
    """Open a temp file next to `path`; on clean exit it replaces `path` in one rename.
    `durable=False` skips the fsync, for caches that are checked before they are trusted."""
    fd, tmp = _temp_beside(path)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        _commit(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextmanager
def atomic_path(path: Path, durable: bool = True) -> Iterator[Path]:
    """The name of an empty temp file next to `path`, for a writer that takes a file name (a
    download); on clean exit it replaces `path` in one rename, as atomic_open does."""
    fd, tmp = _temp_beside(path)
    os.close(fd)
    try:
        yield Path(tmp)
        if durable:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _commit(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    with atomic_open(path, "wb", durable) as f:
        f.write(data)


def write_text(path: Path, text: str) -> None:
    with atomic_open(path, "w") as f:
        f.write(text)


def replace_dir(src: Path, dest: Path) -> None:
    """Move a finished directory into place; the old one is removed only after the swap."""
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        os.replace(dest, old)
    os.replace(src, dest)
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_dir(dest: Path) -> Iterator[Path]:
    """An empty temp folder next to `dest`; on clean exit it replaces `dest` (replace_dir), on
    an error it is removed and `dest` stays as it was."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        yield tmp
        tmp.chmod(0o755)  # mkdtemp makes it 0700
        replace_dir(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def save_model(model, tokenizer, out_dir: Path, extra_files: dict[str, bytes] | None = None) -> Path:
    """A transformers model and its tokenizer (safetensors), plus `extra_files`, as one folder."""
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        for name, data in (extra_files or {}).items():
            (tmp / name).write_bytes(data)
    return out_dir
