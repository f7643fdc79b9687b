"""Evaluate one adapter against its base model on the role's val rows."""

from __future__ import annotations

from pathlib import Path

import orjson

from gastown_assets.evaluation.loss import LossResult, heldout_loss


def read_rows(path: Path):
    with path.open("rb") as f:
        for line in f:
            yield orjson.loads(line)


def compare(base_model: str, adapter_dir: Path, val_path: Path, max_len: int) -> tuple[LossResult, LossResult]:
    """(base loss, base+adapter loss) on the same rows and tokens."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not (adapter_dir / "adapter_model.safetensors").is_file():
        raise FileNotFoundError(f"{adapter_dir}: no adapter_model.safetensors to evaluate")
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(base_model)
    model = AutoModelForCausalLM.from_pretrained(base_model, dtype=torch.float32)
    base = heldout_loss(model, tokenizer, read_rows(val_path), max_len)
    tuned_model = PeftModel.from_pretrained(model, str(adapter_dir))
    tuned = heldout_loss(tuned_model, tokenizer, read_rows(val_path), max_len)
    return base, tuned
