"""The `retrain` section: when the retrain sensor asks for a new run of a role."""

from __future__ import annotations

from pydantic import Field

from gastown_assets.config.files import Strict


class RetrainSpec(Strict):
    """Either threshold is enough."""

    min_new_sessions: int = Field(ge=1)
    min_new_bytes: int = Field(ge=1)
