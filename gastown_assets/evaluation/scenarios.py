"""Role scenarios: a prompt in the role's context and the behaviours expected of the reply.

`configs/eval/<role>.jsonl` holds one scenario a line. The reply is generated greedily, as a
replayed decision is (replay.py), its tool call is parsed out of it (the chat template's
`<tool_call>{json}` block), and each expected behaviour is met when a call names its tool and
the named argument matches its pattern: a call, not a phrase in prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gastown_assets.config import ConfigError


class Behaviour(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    behaviour: str = Field(min_length=1)
    tool: str = Field(min_length=1)
    argument: str = Field(min_length=1)
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        re.compile(pattern)
        return pattern


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    expect: tuple[Behaviour, ...] = Field(min_length=1)


@dataclass
class ScenarioResult:
    id: str
    reply: str
    calls: list[dict]
    met: dict[str, bool] = field(default_factory=dict)


def load_scenarios(config_dir: Path, role: str) -> list[Scenario]:
    """The role's scenarios; none when the file is absent. Errors name the file and line."""
    path = config_dir / "eval" / f"{role}.jsonl"
    if not path.is_file():
        return []
    scenarios = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            scenarios.append(Scenario.model_validate_json(line))
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"]) or "<line>"
            raise ConfigError(path, f"line {n}: {key}", err["msg"]) from None
    return scenarios


def met(behaviour: Behaviour, calls: list[dict]) -> bool:
    pattern = re.compile(behaviour.pattern)
    return any(
        c["name"] == behaviour.tool and pattern.search(str(c["arguments"].get(behaviour.argument, ""))) for c in calls
    )


def score(results: list[ScenarioResult]) -> float | None:
    """Share of all expected behaviours met."""
    flags = [ok for r in results for ok in r.met.values()]
    return sum(flags) / len(flags) if flags else None


def run_scenarios(
    model, tokenizer, scenarios: list[Scenario], system_prompt: str, max_new_tokens: int = 96
) -> list[ScenarioResult]:
    """Greedy replies, so base and adapter are compared on the same footing; like a replayed
    decision, a reply ends with its first complete tool call."""
    from gastown_assets.evaluation.replay import reply

    results = []
    for sc in scenarios:
        messages = [{"role": "system", "content": system_prompt}, {"role": "user", "content": sc.prompt}]
        answer = reply(model, tokenizer, messages, max_new_tokens)
        calls = [answer.call] if answer.call else []
        results.append(ScenarioResult(sc.id, answer.text, calls, {b.behaviour: met(b, calls) for b in sc.expect}))
    return results
