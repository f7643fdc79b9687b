"""Held-out loss on assistant tokens only, the tokens training optimised.

Each message's tokens are found by rendering growing prefixes of the conversation with the
model's chat template, so any template (ChatML, Qwen2.5 tools) is handled the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from gastown_assets.datasets.decisions import is_trained
from gastown_assets.datasets.tokens import as_trained


@dataclass(frozen=True)
class LossResult:
    loss: float
    tokens: int
    rows: int

    @property
    def perplexity(self) -> float:
        return math.exp(min(self.loss, 50.0))


def assistant_labels(tokenizer, messages: list[dict], max_len: int) -> tuple[list[int], list[int]]:
    """input_ids and labels (-100 outside trained assistant messages: a decision row's context
    turns are not), cut to max_len."""
    ids: list[int] = []
    labels: list[int] = []
    for end in range(1, len(messages) + 1):
        text = tokenizer.apply_chat_template(as_trained(messages[:end]), tokenize=False)
        full = tokenizer(text, add_special_tokens=False)["input_ids"]
        # A template may close a block differently once more messages follow (grouped tool
        # results): keep only the common prefix, the rest belongs to this message.
        keep = _common_prefix(ids, full)
        new = full[keep:]
        train = is_trained(messages[end - 1])
        labels = labels[:keep] + (list(new) if train else [-100] * len(new))
        ids = full
    return ids[:max_len], labels[:max_len]


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def heldout_loss(model, tokenizer, rows: Iterable[dict], max_len: int) -> LossResult:
    """Mean token cross-entropy over every assistant token in rows (not a mean of row means)."""
    import torch

    model.eval()
    total, tokens, count = 0.0, 0, 0
    with torch.no_grad():
        for row in rows:
            ids, labels = assistant_labels(tokenizer, row["messages"], max_len)
            n = sum(label != -100 for label in labels[1:])
            if n == 0:
                continue
            out = model(
                input_ids=torch.tensor([ids], device=model.device), labels=torch.tensor([labels], device=model.device)
            )
            total += out.loss.item() * n
            tokens += n
            count += 1
    return LossResult(total / tokens if tokens else float("nan"), tokens, count)
