"""roles/<name>.yml: one Gas Town role, one partition. Its sections are overlays over base.yml
(and the profile's), merged and validated when the role loads (config/project.py)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from gastown_assets.config.dataset import DatasetSpec
from gastown_assets.config.eval import EvalSpec
from gastown_assets.config.files import Strict
from gastown_assets.config.profile import known_keys
from gastown_assets.config.retrain import RetrainSpec

ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")  # also a safe path segment under the data dir


class SessionRules(Strict):
    cwd_patterns: tuple[str, ...] = Field(min_length=1)

    @field_validator("cwd_patterns")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for p in patterns:
            re.compile(p)
        return patterns


class RoleFacts(Strict):
    description: str
    sessions: SessionRules
    system_prompt: str = Field(min_length=1)


class RoleFile(Strict):
    """The file as written: partial overlays, their keys checked here."""

    role: RoleFacts
    dataset: dict[str, Any] = Field(default_factory=dict)
    retrain: dict[str, Any] = Field(default_factory=dict)
    eval: dict[str, Any] = Field(default_factory=dict)
    axolotl: dict[str, Any] = Field(default_factory=dict)

    _dataset_keys = field_validator("dataset")(lambda cls, v: known_keys(v, DatasetSpec))
    _retrain_keys = field_validator("retrain")(lambda cls, v: known_keys(v, RetrainSpec))
    _eval_keys = field_validator("eval")(lambda cls, v: known_keys(v, EvalSpec))


class Role(Strict):
    """A role as a run uses it: its facts, and each section merged (base ⊕ role ⊕ profile) and typed."""

    name: str
    path: Path
    facts: RoleFacts
    dataset: DatasetSpec
    retrain: RetrainSpec
    eval: EvalSpec

    @property
    def system_prompt(self) -> str:
        return self.facts.system_prompt.strip()

    @property
    def digest(self) -> str:
        """The role file's content: an edit to it is a reason to retrain the role."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]
