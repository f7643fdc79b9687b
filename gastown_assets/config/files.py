"""Reading config files: YAML to typed models, overlay merging and `{data_dir}` templating.

Every error is a ConfigError naming the file and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

# libyaml's safe loader when PyYAML has it (a run reads several config files).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DATA_DIR = "{data_dir}"  # in a value, replaced by the data dir's local folder

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A config problem, always naming the file and the key."""

    def __init__(self, path: Path | str, key: str, problem: str):
        self.path, self.key = str(path), key
        super().__init__(f"{path}: {key}: {problem}")


class Strict(BaseModel):
    """Config models reject unknown keys (a typo must not fall back to a default) and are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(path, "<file>", "missing")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise ConfigError(path, "<yaml>", str(exc).replace("\n", " ")) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(path, "<top>", f"expected a mapping, got {type(data).__name__}")
    return data


def parse(model: type[M], path: Path) -> M:
    """`model` from the file; its first error becomes a ConfigError naming the file and key."""
    try:
        return model.model_validate(read_yaml(path))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(path, ".".join(str(p) for p in err["loc"]) or "<top>", err["msg"]) from None


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Overlay semantics: mappings merge, lists/scalars replace, None deletes."""
    out = dict(base)
    for key, value in overlay.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def fill_data_dir(value: Any, data_dir: Path | str) -> Any:
    """`{data_dir}` in every string of `value` (nested dicts and lists too) -> `data_dir`."""
    if isinstance(value, str):
        return value.replace(DATA_DIR, str(data_dir))
    if isinstance(value, dict):
        return {k: fill_data_dir(v, data_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_data_dir(v, data_dir) for v in value]
    return value
