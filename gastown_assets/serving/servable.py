"""Will an adapter load in the server it is meant for? The walls LoRA users hit at serving time,
checked when the adapter is made rather than when a GPU box refuses it:

- the folder holds safetensors only (no pickled `.bin`/`.pt` weights);
- every tensor is a LoRA A or B matrix: no full weights of `modules_to_save`, `lm_head`,
  embeddings, trainable tokens, biases or DoRA magnitudes, which vLLM's LoRA loader refuses;
- every LoRA'd module is a linear projection of the base architecture (not its output head);
- the rank (the largest of `r`, `rank_pattern` and the tensors' own) is within
  `serving.max_lora_rank` (configs/base.yml), vLLM's `--max-lora-rank`;
- PEFT loads it onto the base it was trained on (the base_model data version in its lineage):
  onto the real weights when the base is a local folder, with one forward pass; onto an empty
  (meta-device) copy of a hub model's architecture otherwise, which checks every shape without
  fetching or holding its weights.

Every problem names the file and the key.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
PEFT_PREFIX = "base_model.model."
LORA_SUFFIXES = (".lora_A.weight", ".lora_B.weight")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
SHOWN = 3  # offending keys named in one problem; the rest are counted


@dataclass(frozen=True)
class AdapterFacts:
    """What a server needs to know about an adapter."""

    rank: int  # the largest LoRA rank: r, rank_pattern and the tensors' own
    alpha: float
    target_modules: list[str] | str  # as adapter_config.json lists them (a regex is a string)
    lora_modules: list[str]  # module paths with LoRA weights in the file
    tensors: int
    base_model_name_or_path: str


@dataclass
class Servability:
    where: str  # the adapter folder, as people know it (a path or an s3:// URI)
    facts: AdapterFacts | None
    problems: list[str] = field(default_factory=list)
    loaded_onto: str | None = None  # "weights" or "meta" once PEFT loaded it

    @property
    def passed(self) -> bool:
        return not self.problems

    def metadata(self) -> dict:
        f = self.facts
        out = {
            "servable": self.passed,
            "problems": "\n".join(self.problems) or "none",
            "peft_loaded_onto": self.loaded_onto or "not loaded",
        }
        if f is not None:
            targets = f.target_modules if isinstance(f.target_modules, str) else ", ".join(f.target_modules)
            out.update(
                lora_rank=f.rank,
                lora_alpha=f.alpha,
                target_modules=targets,
                lora_modules=len(f.lora_modules),
                lora_tensors=f.tensors,
            )
        return out


def _shown(keys: list[str]) -> str:
    more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    return ", ".join(keys[:SHOWN]) + more


def inspect(
    adapter_dir: Path,
    max_lora_rank: int,
    *,
    names: Iterable[str] | None = None,
    where: str | None = None,
    limit_source: str = "configs/base.yml",
) -> Servability:
    """The checks that need only the adapter's files. `names`: the folder's listing (an object
    store's, when `adapter_dir` is a staged copy of part of it); `where`: the folder's name in
    messages; `limit_source`: the file that sets serving.max_lora_rank."""
    from safetensors import safe_open

    where = where or str(adapter_dir)
    names = sorted(names if names is not None else (p.name for p in adapter_dir.iterdir()))
    out = Servability(where, None)
    pickled = [n for n in names if n.endswith(PICKLE_SUFFIXES)]
    if pickled:
        out.problems.append(
            f"{where}/{pickled[0]}: pickled weights; serve {WEIGHTS_FILE} only "
            "(servers and PEFT load safetensors; a pickle runs code when loaded)"
        )
    for needed in (CONFIG_FILE, WEIGHTS_FILE):
        if needed not in names or not (adapter_dir / needed).is_file():
            out.problems.append(f"{where}/{needed}: missing")
    if out.problems and not (adapter_dir / CONFIG_FILE).is_file():
        return out
    cfg_name = f"{where}/{CONFIG_FILE}"
    try:
        cfg = json.loads((adapter_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    except ValueError as exc:
        out.problems.append(f"{cfg_name}: <json>: {exc}")
        return out
    out.problems += _config_problems(cfg, cfg_name)

    modules, tensor_rank, tensors = [], 0, 0
    if (adapter_dir / WEIGHTS_FILE).is_file():
        weights = f"{where}/{WEIGHTS_FILE}"
        try:
            with safe_open(str(adapter_dir / WEIGHTS_FILE), framework="pt") as f:
                keys = list(f.keys())
                foreign = [k for k in keys if not (k.startswith(PEFT_PREFIX) and k.endswith(LORA_SUFFIXES))]
                for k in keys:
                    if k.startswith(PEFT_PREFIX) and k.endswith(".lora_A.weight"):
                        modules.append(k[len(PEFT_PREFIX) : -len(".lora_A.weight")])
                        tensor_rank = max(tensor_rank, f.get_slice(k).get_shape()[0])
        except Exception as exc:  # a truncated or foreign file: the check fails, naming it
            out.problems.append(f"{weights}: <safetensors>: {type(exc).__name__}: {exc}")
            keys, foreign = [], []
        tensors = len(keys)
        if foreign:
            out.problems.append(
                f"{weights}: {_shown(foreign)}: not LoRA A/B matrices (full weights of "
                "modules_to_save, lm_head, embeddings, trainable tokens, biases or DoRA); "
                "vLLM's LoRA loader refuses them"
            )
        if not keys and not out.problems:
            out.problems.append(f"{weights}: <tensors>: no LoRA weights")

    ranks = [int(cfg.get("r") or 0), *(int(v) for v in (cfg.get("rank_pattern") or {}).values())]
    rank = max(*ranks, tensor_rank)
    if rank > max_lora_rank:
        key = "r" if rank == int(cfg.get("r") or 0) else ("rank_pattern" if rank in ranks else "<tensor shapes>")
        out.problems.append(
            f"{cfg_name}: {key}: LoRA rank {rank} exceeds serving.max_lora_rank {max_lora_rank} "
            f"({limit_source}); vLLM refuses an adapter whose rank is above its --max-lora-rank"
        )
    alphas = [float(cfg.get("lora_alpha") or 0), *(float(v) for v in (cfg.get("alpha_pattern") or {}).values())]
    out.facts = AdapterFacts(
        rank=rank,
        alpha=max(alphas),
        target_modules=cfg.get("target_modules") or [],
        lora_modules=sorted(set(modules)),
        tensors=tensors,
        base_model_name_or_path=str(cfg.get("base_model_name_or_path") or ""),
    )
    return out


def _config_problems(cfg: dict, name: str) -> list[str]:
    problems = []
    if cfg.get("peft_type") != "LORA":
        problems.append(f"{name}: peft_type: {cfg.get('peft_type')!r}; vLLM serves LoRA adapters only")
    if cfg.get("modules_to_save"):
        problems.append(
            f"{name}: modules_to_save: {cfg['modules_to_save']}; full copies of these modules ride "
            "along with the adapter and vLLM refuses them: train LoRA matrices only"
        )
    if cfg.get("trainable_token_indices"):
        problems.append(f"{name}: trainable_token_indices: set; new token embeddings are not LoRA weights")
    if cfg.get("use_dora"):
        problems.append(f"{name}: use_dora: true; vLLM does not serve DoRA adapters")
    if cfg.get("bias", "none") != "none" or cfg.get("lora_bias"):
        problems.append(f"{name}: bias: {cfg.get('bias')!r}; trained biases are not LoRA weights")
    if not isinstance(cfg.get("r"), int) or cfg["r"] < 1:
        problems.append(f"{name}: r: {cfg.get('r')!r}; not a LoRA rank")
    return problems


def check_adapter(
    adapter_dir: Path,
    base_model: str,
    max_lora_rank: int,
    *,
    names: Iterable[str] | None = None,
    where: str | None = None,
    limit_source: str = "configs/base.yml",
) -> Servability:
    """`inspect`, then PEFT loads the adapter onto `base_model` (a local folder or a hub id)."""
    out = inspect(adapter_dir, max_lora_rank, names=names, where=where, limit_source=limit_source)
    if out.facts is None or not (adapter_dir / WEIGHTS_FILE).is_file():
        return out
    try:
        base, onto = _load_base(base_model)
    except Exception as exc:
        out.problems.append(
            f"{base_model}: <base model>: could not load it to check the adapter: "
            f"{type(exc).__name__}: {_first_line(exc)}"
        )
        return out
    out.problems += _module_problems(base, out.facts.lora_modules, f"{out.where}/{WEIGHTS_FILE}", base_model)
    try:
        _peft_load(base, adapter_dir, onto)
    except Exception as exc:
        out.problems.append(
            f"{out.where}/{WEIGHTS_FILE}: <peft load>: PEFT could not load it onto {base_model}: "
            f"{type(exc).__name__}: {_first_line(exc)}"
        )
        return out
    out.loaded_onto = onto
    return out


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines[:3])[:600]


def _load_base(base_model: str):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    if Path(base_model).is_dir():
        return AutoModelForCausalLM.from_pretrained(base_model, dtype=torch.float32), "weights"
    config = AutoConfig.from_pretrained(base_model)
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config), "meta"


LAYER = re.compile(r"(^|\.)layers\.\d+\.")


def _module_problems(base, lora_modules: list[str], weights: str, base_model: str) -> list[str]:
    """Each LoRA'd module must be a linear projection inside the base's decoder layers."""
    import torch

    found = dict(base.named_modules())
    head = base.get_output_embeddings()
    wrong = [
        m
        for m in lora_modules
        if not (isinstance(found.get(m), torch.nn.Linear) and found[m] is not head and LAYER.search(m))
    ]
    if not wrong:
        return []
    kinds = sorted({type(found[m]).__name__ if m in found else "no such module" for m in wrong})
    return [
        f"{weights}: {_shown(wrong)}: not linear projections of {base_model}'s decoder layers "
        f"({', '.join(kinds)}); a server maps LoRA weights onto those only"
    ]


def _peft_load(base, adapter_dir: Path, onto: str) -> None:
    """PEFT's own loader; a missing-keys warning (weights that did not land) is a failure."""
    import torch
    from peft import PeftModel

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = PeftModel.from_pretrained(
            base, str(adapter_dir), adapter_name="servable", low_cpu_mem_usage=onto == "meta"
        )
    missing = [str(w.message) for w in caught if "missing adapter keys" in str(w.message)]
    if missing:
        raise ValueError(missing[0][:600])
    if onto == "weights":
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([[1, 2, 3]])).logits
        if not torch.isfinite(logits).all():
            raise ValueError("base + adapter produce non-finite logits")


def check_lora_adapter(settings, adapter, base) -> Servability:
    """adapter_servable's one domain call: a trained adapter (training.plan.Adapter) in the data
    dir, against the base_model (training.base_model.BaseModel) in its lineage and
    serving.max_lora_rank."""
    from gastown_assets.training.launch import ADAPTER_FILES
    from gastown_assets.training.remote import stage_base_model

    store, limit_source = settings.store, str(settings.project.base_path)
    spec = settings.project.serving
    trained_on = adapter.data_versions.get("base_model")
    if trained_on != base.digest:
        return Servability(
            adapter.path,
            None,
            [
                f"{adapter.path}: base_model: trained on base model version {trained_on}, but base_model is now "
                f"{base.digest} ({base.name_or_path}); retrain the adapter on it"
            ],
        )
    names = store.listdir(store.key_of(adapter.path)) if store.remote else None
    local = store.stage_dir(adapter.path, [n for n in ADAPTER_FILES if names is None or n in names])
    base_path = stage_base_model(store, settings.project.profile, base)
    return check_adapter(
        local, base_path, spec.max_lora_rank, names=names, where=adapter.path, limit_source=limit_source
    )
