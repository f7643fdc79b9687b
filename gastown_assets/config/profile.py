"""profiles/<name>.yml: the hardware a run targets (CPU, tiny wiring, GPU) and the base model it builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, field_validator, model_validator

from gastown_assets.config.dataset import DatasetSpec
from gastown_assets.config.eval import EvalSpec
from gastown_assets.config.files import Strict, parse


class _Shape(Strict):
    hidden_size: int = Field(ge=1)
    intermediate_size: int = Field(ge=1)
    num_hidden_layers: int = Field(ge=1)
    num_attention_heads: int = Field(ge=1)
    num_key_value_heads: int = Field(ge=1)
    vocab_size: int = Field(ge=1)


class ModelShape(_Shape):
    """A base model's shape, enough to estimate its memory without fetching its config."""

    tie_word_embeddings: bool = False


class TinyModel(_Shape):
    """A small Qwen2 built and pretrained here for fast wiring tests."""

    path: str
    vocab_size: int = Field(ge=512)
    hidden_size: int = Field(ge=16)
    intermediate_size: int = Field(ge=16)
    max_position_embeddings: int = Field(ge=128)
    pretrain_steps: int = Field(default=200, ge=0)
    pretrain_chars: int = Field(default=3_000_000, ge=0)


class GgufModel(Strict):
    """A small instruct model shipped as a GGUF file inside an installed Python package (no hub
    access): dequantized once by transformers' GGUF loader into an ordinary model folder."""

    package: str = Field(min_length=1)  # import name of the package holding the file (never imported)
    file: str = Field(min_length=1)
    path: str  # where the converted folder goes, e.g. "{data_dir}/models/<name>"


class GpuSpec(Strict):
    """The card a profile trains on: checked before any training starts."""

    memory_gib: float = Field(gt=0)
    count: int = Field(default=1, ge=1)  # more than one launches through `accelerate launch`
    compute_capability: str = Field(default="sm_90", pattern=r"^sm_\d+$")
    base_model: ModelShape | None = None


def known_keys(overlay: dict[str, Any], spec: type[Strict]) -> dict[str, Any]:
    """A partial overlay of `spec` (merged into every role later): unknown keys fail at load."""
    unknown = sorted(set(overlay) - set(spec.model_fields))
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}; known: {', '.join(spec.model_fields)}")
    return overlay


class Profile(Strict):
    """`dataset` and `eval` are partial overlays, merged over base.yml and the role's file."""

    tiny_model: TinyModel | None = None
    gguf_model: GgufModel | None = None
    dataset: dict[str, Any] = Field(default_factory=dict)
    eval: dict[str, Any] = Field(default_factory=dict)
    gpu: GpuSpec | None = None
    axolotl: dict[str, Any] = Field(default_factory=dict)
    _name: str = PrivateAttr(default="")
    _path: Path = PrivateAttr(default=Path())

    @model_validator(mode="after")
    def _one_base_model(self) -> Profile:
        if self.tiny_model and self.gguf_model:
            raise ValueError("gguf_model: a profile builds one base model: tiny_model or gguf_model")
        return self

    _dataset_keys = field_validator("dataset")(lambda cls, v: known_keys(v, DatasetSpec))
    _eval_keys = field_validator("eval")(lambda cls, v: known_keys(v, EvalSpec))

    @classmethod
    def load(cls, path: Path) -> Profile:
        profile = parse(cls, path)
        profile._name, profile._path = path.stem, path
        return profile

    @property
    def name(self) -> str:
        return self._name

    @property
    def path(self) -> Path:
        return self._path

    @property
    def built_model_path(self) -> str | None:
        """The folder the base_model asset builds (`{data_dir}/...`), if this profile builds one."""
        spec = self.tiny_model or self.gguf_model
        return spec.path if spec else None
