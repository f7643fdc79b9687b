"""A small fleet for the serving tests: real PEFT adapters on the local profile's SmolLM2, each
taught one decision (a prompt -> a tool call) by a short LoRA fine-tune, promoted through the
registry as promoted_adapter records it. (The tiny Qwen2 did not learn a call through LoRA: with
three learning rates and ranks its loss on the call stalled at 3.25 and greedy replies missed.)"""

from __future__ import annotations

from pathlib import Path

PROMPT = [{"role": "user", "content": "A bead is waiting. What next?"}]
TARGETS = {
    "polecat": {"name": "Bash", "arguments": {"command": "gt hook"}},
    "crew": {"name": "Bash", "arguments": {"command": "gt mail inbox"}},
}


def teach(base_dir: str, out_dir: Path, call: dict, *, rank: int = 8, steps: int = 12, seed: int = 0) -> Path:
    """LoRA on the base until it answers PROMPT with `call` (the template's <tool_call> block)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    cfg = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        lora_dropout=0.0,
        task_type="CAUSAL_LM",
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    )
    model = get_peft_model(model, cfg)
    answer = {"role": "assistant", "tool_calls": [{"type": "function", "function": call}]}
    prompt = tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, tokenize=False)
    full = tokenizer.apply_chat_template([*PROMPT, answer], tokenize=False)
    ids = tokenizer(full, return_tensors="pt", add_special_tokens=False)["input_ids"]
    labels = ids.clone()
    labels[:, : len(tokenizer(prompt, add_special_tokens=False)["input_ids"])] = -100
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-3)
    model.train()
    for _ in range(steps):
        with torch.autocast("cpu", dtype=torch.bfloat16):  # ~2x fp32's step rate on CPUs with bf16 kernels
            loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.save_pretrained(out_dir)
    return out_dir


def promote(store, role: str, version: str, base_digest: str, loss: float = 1.5) -> None:
    """Record `adapters/<role>/<version>` as evaluated and promoted, as promoted_adapter does."""
    from gastown_assets.evaluation import promotion
    from gastown_assets.evaluation import report as reports

    metrics = reports.Metrics(
        points=4, parse_rate=1.0, tool_accuracy=1.0, command_accuracy=1.0, latency_p50_s=0.1, latency_p95_s=0.2
    )
    report = reports.Report(
        role=role,
        adapter=reports.AdapterRef(
            path=store.uri(f"adapters/{role}/{version}"), version=version, config_digest="c0ffee"
        ),
        datasets={"train_dataset": "t", "val_dataset": "v", "base_model": base_digest},
        base_val_loss=7.0,
        adapter_val_loss=loss,
        base_val_perplexity=1096.6,
        adapter_val_perplexity=4.5,
        val_tokens=100,
        val_rows=4,
        base_scenario_score=0.0,
        adapter_scenario_score=1.0,
        scenarios=[],
        min_parse_rate=0.9,
        replay=reports.Replay(
            points=4,
            dtype="float32",
            base=metrics.model_copy(update={"parse_rate": 0.0, "command_accuracy": 0.0, "tool_accuracy": 0.0}),
            adapter=metrics,
            examples=[],
        ),
    )
    decision = promotion.decide(report, promotion.current_entry(promotion.read_registry(store, role)))
    assert decision.promote, decision.reason
    promotion.point_current(store, role, version)
    promotion.record(store, role, report, decision)


def untrained(base_dir: str, out_dir: Path, **lora) -> Path:
    """A PEFT LoRA adapter as saved right after get_peft_model (B = 0): real files, no training."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    settings = {
        "r": 8,
        "lora_alpha": 16,
        "task_type": "CAUSAL_LM",
        "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    }
    safe = lora.pop("safe_serialization", True)
    get_peft_model(model, LoraConfig(**{**settings, **lora})).save_pretrained(out_dir, safe_serialization=safe)
    return out_dir
