"""Load configs/ into typed objects and resolve one role's Axolotl config.

resolved = base.yml ⊕ roles/<role>.yml ⊕ profiles/<profile>.yml ⊕ dataset paths.
Mappings merge key by key, lists and scalars replace, and a null in an overlay removes the key.
Every error names the file and the key.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gastown_assets.transcripts.roles import RoleRule

# Keys that say where one run writes, not what it trains: left out of the config digest.
RUN_KEYS = frozenset({"output_dir", "wandb_name", "wandb_run_id", "wandb_mode", "dataset_prepared_path",
                      "resume_from_checkpoint", "plugins"})
# libyaml's safe loader when PyYAML has it (every run reads the config files several times).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")  # also a safe path segment under the data dir


class ConfigError(ValueError):
    """A config problem, always naming the file and the key."""

    def __init__(self, path: Path | str, key: str, problem: str):
        self.path, self.key = str(path), key
        super().__init__(f"{path}: {key}: {problem}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SessionRules(_Strict):
    cwd_patterns: tuple[str, ...] = Field(min_length=1)

    @field_validator("cwd_patterns")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for p in patterns:
            re.compile(p)
        return patterns


class RoleFacts(_Strict):
    description: str
    sessions: SessionRules
    system_prompt: str = Field(min_length=1)


class DatasetSpec(_Strict):
    # decisions: one row per assistant turn that calls a tool (context -> that call);
    # sessions: whole conversations cut into token-budgeted chunks.
    shape: Literal["decisions", "sessions"] = "sessions"
    val_fraction: float = Field(gt=0, lt=1)
    split_salt: str
    max_tool_result_chars: int = Field(ge=100)
    # Call arguments left out of rows, per tool: optional hints a harness fills itself, e.g. the
    # `description` of a Bash call (fewer tokens to learn, and to generate per decision).
    dropped_call_arguments: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    min_assistant_turns: int = Field(ge=1)
    min_assistant_chars: int = Field(ge=0)
    chunk_overlap_units: int = Field(ge=0)
    dedup_threshold: float = Field(gt=0, le=1)


class RetrainSpec(_Strict):
    """When the retrain sensor asks for a new run of a role: either threshold is enough."""

    min_new_sessions: int = Field(ge=1)
    min_new_bytes: int = Field(ge=1)


class EvalSpec(_Strict):
    """How eval_report and `replay` judge an adapter, and the promotion floor."""

    replay_points: int = Field(ge=1)  # held-out decision points replayed per model (a stable sample)
    max_new_tokens: int = Field(ge=8)  # per reply; generation also stops at the end of the first call
    min_parse_rate: float = Field(ge=0, le=1)  # the adapter's floor for promotion
    loss_rows: int = Field(ge=1)  # val rows scored for held-out loss
    examples: int = Field(ge=0)  # real decisions shown in report.md
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"  # auto: bf16 on CUDA or a CPU with bf16 kernels
    # behaviour: command accuracy above the base's and parse rate over the floor, besides the loss;
    # loss: held-out loss and scenarios only (the tiny wiring profile, whose model writes no calls)
    gate: Literal["behaviour", "loss"] = "behaviour"


# The ranks vLLM's --max-lora-rank accepts (its LoRAConfig.max_lora_rank literal).
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


class ServingSpec(_Strict):
    """How the role adapters are served (gastown_assets/serving): adapter_servable fails an
    adapter whose LoRA rank exceeds max_lora_rank (vLLM's own default is 16)."""

    max_lora_rank: int = 16

    @field_validator("max_lora_rank")
    @classmethod
    def _vllm_accepts(cls, rank: int) -> int:
        if rank not in VLLM_LORA_RANKS:
            raise ValueError(f"{rank} is not a rank vLLM's --max-lora-rank accepts: {list(VLLM_LORA_RANKS)}")
        return rank


class RoleFile(_Strict):
    role: RoleFacts
    dataset: dict[str, Any] = Field(default_factory=dict)
    retrain: dict[str, Any] = Field(default_factory=dict)
    eval: dict[str, Any] = Field(default_factory=dict)
    axolotl: dict[str, Any] = Field(default_factory=dict)


class TinyModel(_Strict):
    path: str
    vocab_size: int = Field(ge=512)
    hidden_size: int = Field(ge=16)
    intermediate_size: int = Field(ge=16)
    num_hidden_layers: int = Field(ge=1)
    num_attention_heads: int = Field(ge=1)
    num_key_value_heads: int = Field(ge=1)
    max_position_embeddings: int = Field(ge=128)
    pretrain_steps: int = Field(default=200, ge=0)
    pretrain_chars: int = Field(default=3_000_000, ge=0)


class GgufModel(_Strict):
    """A small instruct model shipped as a GGUF file inside an installed Python package (no hub
    access): dequantized once by transformers' GGUF loader into an ordinary model folder."""

    package: str = Field(min_length=1)  # import name of the package holding the file (never imported)
    file: str = Field(min_length=1)
    path: str  # where the converted folder goes, e.g. "{data_dir}/models/<name>"


class ModelShape(_Strict):
    """A base model's shape, enough to estimate its memory without fetching its config."""

    hidden_size: int = Field(ge=1)
    intermediate_size: int = Field(ge=1)
    num_hidden_layers: int = Field(ge=1)
    num_attention_heads: int = Field(ge=1)
    num_key_value_heads: int = Field(ge=1)
    vocab_size: int = Field(ge=1)
    tie_word_embeddings: bool = False


class GpuSpec(_Strict):
    """The card a profile trains on: checked before any training starts."""

    memory_gib: float = Field(gt=0)
    count: int = Field(default=1, ge=1)  # more than one launches through `accelerate launch`
    compute_capability: str = Field(default="sm_90", pattern=r"^sm_\d+$")
    base_model: ModelShape | None = None


class ProfileFile(_Strict):
    tiny_model: TinyModel | None = None
    gguf_model: GgufModel | None = None
    dataset: dict[str, Any] = Field(default_factory=dict)
    eval: dict[str, Any] = Field(default_factory=dict)
    gpu: GpuSpec | None = None
    axolotl: dict[str, Any] = Field(default_factory=dict)


class BaseFile(_Strict):
    dataset: dict[str, Any]
    retrain: dict[str, Any] = Field(default_factory=dict)
    eval: dict[str, Any] = Field(default_factory=dict)
    axolotl: dict[str, Any]
    serving: ServingSpec = Field(default_factory=ServingSpec)


@dataclass(frozen=True)
class Role:
    name: str
    path: Path
    facts: RoleFacts
    dataset: dict[str, Any]
    overlay: dict[str, Any]
    retrain: dict[str, Any] = dataclasses.field(default_factory=dict)
    eval: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def digest(self) -> str:
        """The role file's content: an edit to it is a reason to retrain the role."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]


@dataclass(frozen=True)
class Profile:
    name: str
    path: Path
    tiny_model: TinyModel | None
    overlay: dict[str, Any]
    gpu: GpuSpec | None = None
    gguf_model: GgufModel | None = None
    dataset: dict[str, Any] = dataclasses.field(default_factory=dict)
    eval: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def built_model_path(self) -> str | None:
        """The folder the base_model asset builds (`{data_dir}/...`), if this profile builds one."""
        spec = self.tiny_model or self.gguf_model
        return spec.path if spec else None


@dataclass(frozen=True)
class ResolvedConfig:
    role: str
    profile: str
    axolotl: dict[str, Any]
    sources: tuple[str, ...]

    @property
    def digest(self) -> str:
        """Hash of what shapes the adapter; where this run writes is left out."""
        stable = {k: v for k, v in self.axolotl.items() if k not in RUN_KEYS}
        return hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]

    def for_run(self, output_dir: Path, run_name: str, prepared_dir: Path,
                run_id: str | None = None) -> "ResolvedConfig":
        """Where this run writes and what W&B calls it; one W&B run per materialization."""
        cfg = dict(self.axolotl, output_dir=str(output_dir), wandb_name=run_name,
                   wandb_run_id=run_id or run_name, dataset_prepared_path=str(prepared_dir))
        return ResolvedConfig(self.role, self.profile, cfg, self.sources)

    def to_yaml(self) -> str:
        head = f"# Resolved Axolotl config for role {self.role!r}, profile {self.profile!r}\n"
        head += "".join(f"# from {s}\n" for s in self.sources)
        return head + yaml.safe_dump(self.axolotl, sort_keys=False)


def _read_yaml(path: Path) -> dict[str, Any]:
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


def _parse(model: type[BaseModel], path: Path) -> BaseModel:
    try:
        return model.model_validate(_read_yaml(path))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "<top>"
        raise ConfigError(path, key, err["msg"]) from None


def role_names(config_dir: Path) -> list[str]:
    """Partition keys: one per configs/roles/*.yml, validated as safe path segments."""
    names = sorted(p.stem for p in (config_dir / "roles").glob("*.yml"))
    for name in names:
        if not ROLE_NAME.match(name):
            raise ConfigError(config_dir / "roles" / f"{name}.yml", "<file name>",
                              f"role name must match {ROLE_NAME.pattern}")
    return names


def load_role(config_dir: Path, name: str) -> Role:
    path = config_dir / "roles" / f"{name}.yml"
    if not ROLE_NAME.match(name):
        raise ConfigError(path, "<role>", f"role name must match {ROLE_NAME.pattern}")
    parsed = _parse(RoleFile, path)
    return Role(name, path, parsed.role, parsed.dataset, parsed.axolotl, parsed.retrain, parsed.eval)


def load_roles(config_dir: Path) -> dict[str, Role]:
    return {name: load_role(config_dir, name) for name in role_names(config_dir)}


def role_rules(config_dir: Path) -> list[RoleRule]:
    """Every role's cwd patterns, in file-name order (ties in tagging go to the earlier role)."""
    return [RoleRule(r.name, r.facts.sessions.cwd_patterns) for r in load_roles(config_dir).values()]


def load_profile(config_dir: Path, name: str) -> Profile:
    path = config_dir / "profiles" / f"{name}.yml"
    parsed = _parse(ProfileFile, path)
    if parsed.tiny_model and parsed.gguf_model:
        raise ConfigError(path, "gguf_model", "a profile builds one base model: tiny_model or gguf_model")
    return Profile(name, path, parsed.tiny_model, parsed.axolotl, parsed.gpu, parsed.gguf_model, parsed.dataset,
                   parsed.eval)


def load_base(config_dir: Path) -> BaseFile:
    return _parse(BaseFile, config_dir / "base.yml")


def serving_spec(config_dir: Path) -> ServingSpec:
    """base.yml's `serving` section (vLLM's defaults when it has none)."""
    return load_base(config_dir).serving


def dataset_spec(config_dir: Path, role: Role, profile: Profile | None = None) -> DatasetSpec:
    """base.yml's `dataset` section ⊕ the role's ⊕ the profile's, validated."""
    return _role_section(DatasetSpec, "dataset", load_base(config_dir).dataset, role, profile)


def eval_spec(config_dir: Path, role: Role, profile: Profile | None = None) -> EvalSpec:
    """base.yml's `eval` section ⊕ the role's ⊕ the profile's, validated."""
    return _role_section(EvalSpec, "eval", load_base(config_dir).eval, role, profile)


def retrain_spec(config_dir: Path, role: Role) -> RetrainSpec:
    """base.yml's `retrain` section with the role's overrides, validated."""
    return _role_section(RetrainSpec, "retrain", load_base(config_dir).retrain, role)


def _role_section(model: type[BaseModel], section: str, base: dict[str, Any], role: Role,
                  profile: Profile | None = None):
    overlays = [(role.path, getattr(role, section))]
    if profile is not None and hasattr(profile, section):
        overlays.append((profile.path, getattr(profile, section)))
    merged = base
    for _, overlay in overlays:
        merged = merge(merged, overlay)
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = f"{section}." + ".".join(str(p) for p in err["loc"])
        # blame the last file that sets the key (the role file when none does)
        path = next((p for p, o in reversed(overlays) if err["loc"] and err["loc"][0] in o), role.path)
        raise ConfigError(path, key, f"{err['msg']} (after merging base.yml)") from None


def merged_axolotl(config_dir: Path, role: Role, profile: Profile, data_dir: Path) -> dict[str, Any]:
    """base ⊕ role ⊕ profile, before dataset paths are known."""
    merged = merge(merge(load_base(config_dir).axolotl, role.overlay), profile.overlay)
    return _fill(merged, data_dir)


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


def _fill(value: Any, data_dir: Path) -> Any:
    if isinstance(value, str):
        return value.replace("{data_dir}", str(data_dir))
    if isinstance(value, dict):
        return {k: _fill(v, data_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, data_dir) for v in value]
    return value


def resolve(
    config_dir: Path,
    role: str,
    profile: str,
    *,
    data_dir: Path,
    train_path: Path,
    val_path: Path,
) -> ResolvedConfig:
    """The one Axolotl config a role trains with; dataset paths come from upstream assets."""
    role_cfg, prof = load_role(config_dir, role), load_profile(config_dir, profile)
    merged = merged_axolotl(config_dir, role_cfg, prof, data_dir)
    merged["datasets"] = [dict(copy.deepcopy(d), path=str(train_path)) for d in merged.get("datasets", [])]
    if not merged["datasets"]:
        raise ConfigError(config_dir / "base.yml", "axolotl.datasets", "no dataset stanza")
    # The val set is an eval set only: same stanza, never listed under `datasets`. With
    # `eval_strategy: "no"` it is left out, or Axolotl would still evaluate once before step 1.
    if merged.get("eval_strategy") != "no":
        merged["test_datasets"] = [dict(copy.deepcopy(merged["datasets"][0]), path=str(val_path), split="train")]
    merged["val_set_size"] = 0.0
    sources = (str(config_dir / "base.yml"), str(role_cfg.path), str(prof.path))
    return ResolvedConfig(role, profile, merged, sources)
