"""Pre-flight GPU memory estimate for one training run, per GPU, in GiB.

A first-order budget, meant to catch a config that cannot fit before a GPU is rented, not to
replace a profiler: quantized weights (4-bit NF4 with double quantization ≈ 0.516 B/param,
embeddings and lm_head stay in 16 bit), LoRA parameters with their gradients and optimizer
state, activations (gradient checkpointing keeps one hidden state per layer plus one layer's
working set, after Korthikanti et al. 2022: 34·h bytes per token, plus 5·heads·seq without a
fused attention kernel), the logits and their fp32 copy for the loss, and a fixed CUDA
context with a 10 % allocator margin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gastown_assets.config import ModelShape, Profile

GIB = 1024**3
CUDA_CONTEXT_GIB = 1.0
FRAGMENTATION = 1.10
# Bytes per trainable parameter: fp32 weight + fp32 grad + optimizer state.
OPTIMIZER_STATE_BYTES = {"adamw_bnb_8bit": 2, "paged_adamw_8bit": 2, "sgd": 0}


@dataclass(frozen=True)
class VramEstimate:
    parts: dict[str, float]  # GiB per component
    lora_params: int
    base_params: int

    @property
    def total_gib(self) -> float:
        return sum(self.parts.values())

    def to_markdown(self, limit_gib: float | None) -> str:
        rows = "".join(f"| {name} | {gib:.2f} |\n" for name, gib in self.parts.items())
        limit = f" of {limit_gib:g} GiB" if limit_gib else ""
        return (
            f"| component | GiB |\n|---|---|\n{rows}| **total per GPU** | **{self.total_gib:.2f}**{limit} |\n"
            f"\nbase parameters {self.base_params:,}; LoRA parameters {self.lora_params:,}\n"
        )


class DoesNotFit(ValueError):
    pass


def shape_from_config_json(model_dir: Path) -> ModelShape | None:
    path = model_dir / "config.json"
    if not path.is_file():
        return None
    raw = json.loads(path.read_text())
    return ModelShape(**{k: raw[k] for k in ModelShape.model_fields if k in raw})


def _module_dims(shape: ModelShape) -> dict[str, tuple[int, int]]:
    h, i = shape.hidden_size, shape.intermediate_size
    head = h // shape.num_attention_heads
    q, kv = shape.num_attention_heads * head, shape.num_key_value_heads * head
    return {
        "q_proj": (h, q),
        "k_proj": (h, kv),
        "v_proj": (h, kv),
        "o_proj": (q, h),
        "gate_proj": (h, i),
        "up_proj": (h, i),
        "down_proj": (i, h),
    }


def estimate(shape: ModelShape, cfg: dict[str, Any]) -> VramEstimate:
    dims = _module_dims(shape)
    layer_params = sum(a * b for a, b in dims.values())
    linear_params = layer_params * shape.num_hidden_layers
    embed_params = shape.vocab_size * shape.hidden_size * (1 if shape.tie_word_embeddings else 2)
    half = not (cfg.get("bf16") is False and cfg.get("fp16") is False)
    act_bytes = 2 if half else 4
    weight_bytes = 0.516 if cfg.get("load_in_4bit") else 1.0 if cfg.get("load_in_8bit") else act_bytes

    r = int(cfg.get("lora_r") or 8)
    targets = [m for m in cfg.get("lora_target_modules") or [] if m in dims]
    lora_params = sum(r * sum(dims[m]) for m in targets) * shape.num_hidden_layers
    state = OPTIMIZER_STATE_BYTES.get(str(cfg.get("optimizer")), 8)

    tokens = int(cfg.get("sequence_len") or 2048) * int(cfg.get("micro_batch_size") or 1)
    seq = int(cfg.get("sequence_len") or 2048)
    fused = cfg.get("flash_attention") or cfg.get("attn_implementation") in ("flash_attention_2", "sdpa")
    per_layer = tokens * (34 * shape.hidden_size + (0 if fused else 5 * shape.num_attention_heads * seq))
    if cfg.get("gradient_checkpointing"):
        activations = tokens * shape.hidden_size * act_bytes * shape.num_hidden_layers + per_layer
    else:
        activations = per_layer * shape.num_hidden_layers

    parts = {
        "base weights": (linear_params * weight_bytes + embed_params * act_bytes) / GIB,
        "LoRA weights, grads, optimizer": lora_params * (8 + state) / GIB,
        "activations": activations / GIB,
        "logits (16-bit + fp32 for the loss)": tokens * shape.vocab_size * (act_bytes + 4) / GIB,
    }
    parts["CUDA context + allocator margin"] = CUDA_CONTEXT_GIB + (FRAGMENTATION - 1) * sum(parts.values())
    return VramEstimate(parts, lora_params, linear_params + embed_params)


def check_fits(est: VramEstimate, memory_gib: float, where: str) -> None:
    if est.total_gib > memory_gib:
        biggest = max(est.parts, key=est.parts.get)
        raise DoesNotFit(
            f"{where}: gpu.memory_gib: the run needs about {est.total_gib:.1f} GiB per GPU "
            f"but the card has {memory_gib:g} GiB (largest part: {biggest}, "
            f"{est.parts[biggest]:.1f} GiB); lower sequence_len or micro_batch_size, "
            f"or use a larger card"
        )


def for_profile(profile: Profile, base_model: str, built: bool, cfg: dict[str, Any]) -> VramEstimate | None:
    """The estimate for a run, checked against the profile's card. The shape comes from a local
    model's config.json, else from the profile's `gpu.base_model`; None when neither says."""
    shape = shape_from_config_json(Path(base_model)) if built else None
    if shape is None and profile.gpu is not None:
        shape = profile.gpu.base_model
    if shape is None:
        return None
    est = estimate(shape, cfg)
    if profile.gpu is not None:
        check_fits(est, profile.gpu.memory_gib, str(profile.path))
    return est


# --- Checked against a GPU run (`make gpu-smoke` records what torch measured) -------------------

CONTEXT_PART = "CUDA context + allocator margin"  # never in torch's allocator counts
# The resolved-config keys `estimate` reads: a measured summary records them with the model shape,
# so the estimate of today's code can be recomputed for that run.
ESTIMATE_KEYS = (
    "bf16",
    "fp16",
    "load_in_4bit",
    "load_in_8bit",
    "lora_r",
    "lora_target_modules",
    "optimizer",
    "sequence_len",
    "micro_batch_size",
    "flash_attention",
    "attn_implementation",
    "gradient_checkpointing",
)


def estimate_inputs(shape: ModelShape, cfg: dict[str, Any]) -> dict[str, Any]:
    """What a run's estimate depends on, for a summary to record beside what was measured."""
    return {"shape": shape.model_dump(), "config": {k: cfg[k] for k in ESTIMATE_KEYS if k in cfg}}


@dataclass(frozen=True)
class VramComparison:
    """An estimate next to torch's measured peak (`torch.cuda.max_memory_allocated` in the trainer).

    torch's allocator sees tensors only, so the measured peak is compared with the estimate less
    its CUDA context and margin. With the memory allocated when training began (the model loaded,
    nothing trained) the gap is split: weights (base weights + LoRA weights) vs what training adds
    (activations, logits, LoRA grads and optimizer state)."""

    estimate: VramEstimate
    measured_gib: float
    at_start_gib: float | None = None

    @property
    def estimated_tensors_gib(self) -> float:
        return self.estimate.total_gib - self.estimate.parts.get(CONTEXT_PART, 0.0)

    @property
    def ratio(self) -> float:
        """measured / estimated: above 1, the estimate is short of what the run used."""
        return self.measured_gib / self.estimated_tensors_gib

    @property
    def dominant(self) -> str:
        """The estimate's largest part (the context and margin left out)."""
        parts = {k: v for k, v in self.estimate.parts.items() if k != CONTEXT_PART}
        return max(parts, key=parts.get)

    def split(self) -> dict[str, tuple[float, float]] | None:
        """{'weights' | 'training': (estimated, measured)} GiB, when the start figure is known."""
        if self.at_start_gib is None:
            return None
        weights = self.estimate.parts["base weights"] + self.estimate.lora_params * 4 / GIB  # fp32 LoRA weights
        return {
            "weights": (weights, self.at_start_gib),
            "training": (self.estimated_tensors_gib - weights, self.measured_gib - self.at_start_gib),
        }

    @property
    def largest_gap(self) -> str | None:
        """The side of the split where estimate and measurement differ most."""
        split = self.split()
        return max(split, key=lambda k: abs(split[k][1] - split[k][0])) if split else None

    def describe(self) -> str:
        verdict = "is short of" if self.ratio > 1 else "covers"
        text = (
            f"measured peak {self.measured_gib:.2f} GiB vs estimated {self.estimated_tensors_gib:.2f} GiB of "
            f"tensors ({self.estimate.total_gib:.2f} GiB with CUDA context and margin): ratio {self.ratio:.2f}, "
            f"the estimate {verdict} the measurement; largest estimated part: {self.dominant} "
            f"({self.estimate.parts[self.dominant]:.2f} GiB)"
        )
        split = self.split()
        if split:
            text += "; " + ", ".join(f"{k} {est:.2f} estimated / {got:.2f} measured" for k, (est, got) in split.items())
            text += f" (largest gap: {self.largest_gap})"
        return text


def compare(est: VramEstimate, measured_gib: float, at_start_gib: float | None = None) -> VramComparison:
    if measured_gib <= 0:
        raise ValueError(f"measured peak must be positive, got {measured_gib}")
    return VramComparison(est, measured_gib, at_start_gib)


def check_summary(summary: dict[str, Any], where: str = "summary") -> VramComparison:
    """Today's estimate for the run a summary recorded (`make gpu-smoke`'s JSON: its model shape
    and config), against the peak torch measured in that run's trainer."""
    try:
        inputs, train = summary["vram"], summary["train"]
        shape, cfg = ModelShape(**inputs["shape"]), inputs["config"]
        measured = train["peak_allocated_gib"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: vram/train: not a gpu-smoke summary with a measured peak ({exc})") from None
    if measured is None:
        raise ValueError(f"{where}: train.peak_allocated_gib: no peak measured (a run without CUDA)")
    return compare(estimate(shape, cfg), float(measured), train.get("allocated_at_start_gib"))
