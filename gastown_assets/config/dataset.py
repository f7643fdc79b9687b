"""The `dataset` section: how a role's sessions become train/val rows."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gastown_assets.config.files import Strict


class DatasetSpec(Strict):
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
