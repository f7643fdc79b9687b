"""The `eval` section: how eval_report and `replay` judge an adapter, and the promotion floor."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gastown_assets.config.files import Strict


class EvalSpec(Strict):
    replay_points: int = Field(ge=1)  # held-out decision points replayed per model (a stable sample)
    max_new_tokens: int = Field(ge=8)  # per reply; generation also stops at the end of the first call
    min_parse_rate: float = Field(ge=0, le=1)  # the adapter's floor for promotion
    loss_rows: int = Field(ge=1)  # val rows scored for held-out loss
    examples: int = Field(ge=0)  # real decisions shown in report.md
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"  # auto: bf16 on CUDA or a CPU with bf16 kernels
    # behaviour: command accuracy above the base's and parse rate over the floor, besides the loss;
    # loss: held-out loss and scenarios only (the tiny wiring profile, whose model writes no calls)
    gate: Literal["behaviour", "loss"] = "behaviour"
