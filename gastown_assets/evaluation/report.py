"""The eval report of one adapter: a typed model, written as report.json and report.md."""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict

from gastown_assets.config import EvalSpec
from gastown_assets.evaluation.replay import Metrics, command_key, score
from gastown_assets.evaluation.run import Evaluation
from gastown_assets.evaluation.scenarios import score as scenario_score

LOSS_PNG = "loss.png"
REPLY_CHARS = 400  # enough to see what the model did; the report is for people
CONTEXT_TAIL_CHARS = 300


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AdapterRef(_Model):
    path: str
    version: str
    config_digest: str


class Example(_Model):
    context_tail: str
    real_call: dict
    base_call: dict | None
    adapter_call: dict | None


class Replay(_Model):
    points: int
    dtype: str
    base: Metrics
    adapter: Metrics
    examples: list[Example]


class ScenarioOutcome(_Model):
    id: str
    behaviours: dict[str, dict[str, bool]]
    base_calls: list[dict]
    adapter_calls: list[dict]
    base_reply: str
    adapter_reply: str


class LeakFound(_Model):
    kind: str
    hash: str  # the removed secret's salted hash
    session_id: str
    detected: bool  # the scrubber also flagged it in the reply


class Memorization(_Model):
    """The memorization probe (evaluation/memorization.py): kinds, hashes and counts, no text."""

    recorded: int
    distinct: int
    probed: int
    without_context: int
    max_new_tokens: int
    leaks: list[LeakFound] = []
    other_secrets: dict[str, int] = {}
    passed: bool
    leaked_kinds: dict[str, int] = {}


class Report(_Model):
    role: str
    adapter: AdapterRef
    datasets: dict[str, str]
    base_val_loss: float
    adapter_val_loss: float
    base_val_perplexity: float
    adapter_val_perplexity: float
    val_tokens: int
    val_rows: int
    base_scenario_score: float | None
    adapter_scenario_score: float | None
    scenarios: list[ScenarioOutcome]
    replay: Replay
    min_parse_rate: float
    gate: str = "behaviour"  # eval.gate
    memorization: Memorization | None = None  # None: nothing was removed from the role's transcripts

    @property
    def beats_base_on_loss(self) -> bool:
        return self.adapter_val_loss < self.base_val_loss

    @property
    def scenarios_regress(self) -> bool:
        return (self.adapter_scenario_score or 0.0) < (self.base_scenario_score or 0.0)

    def gate_failures(self) -> list[str]:
        """Why this adapter may not be promoted over its base: behaviour, not loss alone."""
        r, failures = self.replay, []
        if not self.beats_base_on_loss:
            failures.append(
                f"held-out loss {self.adapter_val_loss:.4f} is not below the base's {self.base_val_loss:.4f}"
            )
        if self.gate == "behaviour" and r.adapter.command_accuracy <= r.base.command_accuracy:
            failures.append(
                f"command accuracy {r.adapter.command_accuracy:.0%} does not beat the base's "
                f"{r.base.command_accuracy:.0%} on {r.points} held-out decisions"
            )
        if self.gate == "behaviour" and r.adapter.parse_rate < self.min_parse_rate:
            failures.append(
                f"parse rate {r.adapter.parse_rate:.0%} is under the floor {self.min_parse_rate:.0%} "
                "(eval.min_parse_rate)"
            )
        if self.scenarios_regress:
            failures.append("meets fewer scenario behaviours than the base")
        return failures

    @property
    def beats_base(self) -> bool:
        return not self.gate_failures()

    def to_json(self) -> bytes:
        data = self.model_dump(mode="json")
        data.update(
            adapter_beats_base=self.beats_base,
            gate_failures=self.gate_failures(),
            scenarios_regress=self.scenarios_regress,
        )
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"


def _tail(context: list[dict]) -> str:
    """The end of the context as a reader would skim it: the last few messages, clipped."""
    parts = []
    for m in context[-3:]:
        text = m.get("content") or ""
        for call in m.get("tool_calls") or ():
            text += f" [{call['function']['name']} {call['function']['arguments']}]"
        parts.append(f"{m['role']}: {' '.join(str(text).split())}")
    return " | ".join(parts)[-CONTEXT_TAIL_CHARS:]


def _examples(ev: Evaluation, n: int) -> list[Example]:
    """Real decisions, those the adapter gets right and wrong alike, in replay order."""
    rows = list(zip(ev.points, ev.base_replies, ev.tuned_replies))
    right = [r for r in rows if r[2].call and command_key(r[2].call) == command_key(r[0].call)]
    wrong = [r for r in rows if r not in right]
    picked = right[: (n + 1) // 2] + wrong[: n // 2]
    picked += [r for r in rows if r not in picked][: n - len(picked)]
    return [
        Example(context_tail=_tail(p.context), real_call=p.call, base_call=b.call, adapter_call=t.call)
        for p, b, t in picked
    ]


def build_report(role: str, adapter: AdapterRef, datasets: dict[str, str], ev: Evaluation, spec: EvalSpec) -> Report:
    """`adapter` names the exact version evaluated; `datasets` the data versions it saw."""
    return Report(
        role=role,
        adapter=adapter,
        datasets=datasets,
        base_val_loss=round(ev.base.loss, 6),
        adapter_val_loss=round(ev.tuned.loss, 6),
        base_val_perplexity=round(ev.base.perplexity, 4),
        adapter_val_perplexity=round(ev.tuned.perplexity, 4),
        val_tokens=ev.tuned.tokens,
        val_rows=ev.tuned.rows,
        base_scenario_score=scenario_score(ev.base_scenarios),
        adapter_scenario_score=scenario_score(ev.tuned_scenarios),
        scenarios=[_scenario(b, t) for b, t in zip(ev.base_scenarios, ev.tuned_scenarios)],
        replay=Replay(
            points=len(ev.points),
            dtype=ev.dtype,
            base=score(ev.points, ev.base_replies),
            adapter=score(ev.points, ev.tuned_replies),
            examples=_examples(ev, spec.examples),
        ),
        min_parse_rate=spec.min_parse_rate,
        gate=spec.gate,
    )


def _scenario(base, tuned) -> ScenarioOutcome:
    return ScenarioOutcome(
        id=tuned.id,
        behaviours={name: {"base": base.met[name], "adapter": ok} for name, ok in tuned.met.items()},
        base_calls=base.calls,
        adapter_calls=tuned.calls,
        base_reply=base.reply[:REPLY_CHARS],
        adapter_reply=tuned.reply[:REPLY_CHARS],
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _call(call: dict | None) -> str:
    if call is None:
        return "(no call)"
    text = json.dumps(call["arguments"], ensure_ascii=False)
    return f"`{call['name']}` `{text[:120]}{'…' if len(text) > 120 else ''}`".replace("|", "\\|")


def to_markdown(report: Report, loss_png: str | None = LOSS_PNG) -> str:
    """`loss_png`: the image reference (a file name beside report.md, or a data URI)."""
    a, r = report.adapter, report.replay
    verdict = "passes" if report.beats_base else "does NOT pass"
    lines = [
        f"# Eval report: {report.role}",
        "",
        f"Adapter `{a.version}` {verdict} the promotion gate against its base model.",
        "",
    ]
    lines += [f"- {why}" for why in report.gate_failures()] + ([""] if report.gate_failures() else [])
    lines += _replay_lines(r)
    lines += [
        "## Held-out loss and scenarios",
        "",
        "| model | val loss | val perplexity | scenario behaviours met |",
        "|---|---:|---:|---:|",
        f"| base | {report.base_val_loss:.4f} | {report.base_val_perplexity:.2f} | {_pct(report.base_scenario_score)} |",
        f"| base + adapter | {report.adapter_val_loss:.4f} | {report.adapter_val_perplexity:.2f} | "
        f"{_pct(report.adapter_scenario_score)} |",
        "",
        f"Loss scored on {report.val_tokens} trained tokens in {report.val_rows} val rows.",
        "",
    ]
    if loss_png:
        lines += ["## Training loss", "", f"![training loss]({loss_png})", ""]
    lines += _scenario_lines(report.scenarios)
    if report.memorization is not None:
        from gastown_assets.evaluation.memorization import to_markdown as memorization_md

        lines += memorization_md(report.memorization).splitlines() + [""]
    lines += ["## Lineage", "", f"- adapter: `{a.path}` (version `{a.version}`, config `{a.config_digest}`)"]
    lines += [f"- {name}: `{version}`" for name, version in sorted(report.datasets.items())]
    return "\n".join(lines) + "\n"


def _replay_lines(r: Replay) -> list[str]:
    lines = [
        "## Replay of held-out decisions",
        "",
        f"{r.points} decision points from held-out sessions: each model replies greedily ({r.dtype}) to "
        "the real context; its first tool call is compared with the call the real agent made.",
        "",
        "| model | parse rate | tool accuracy | command accuracy | latency p50 | latency p95 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, m in (("base", r.base), ("base + adapter", r.adapter)):
        lines.append(
            f"| {name} | {m.parse_rate:.0%} | {m.tool_accuracy:.0%} | {m.command_accuracy:.0%} | "
            f"{m.latency_p50_s:.2f} s | {m.latency_p95_s:.2f} s |"
        )
    lines.append("")
    if r.examples:
        lines += ["### Examples", "", "| context (tail) | real call | base | adapter |", "|---|---|---|---|"]
        for ex in r.examples:
            tail = ex.context_tail.replace("|", "\\|")
            lines.append(
                f"| …{tail[-160:]} | {_call(ex.real_call)} | {_call(ex.base_call)} | {_call(ex.adapter_call)} |"
            )
        lines.append("")
    return lines


def _scenario_lines(scenarios: list[ScenarioOutcome]) -> list[str]:
    if not scenarios:
        return ["## Scenarios", "", "No scenarios for this role (configs/eval/<role>.jsonl).", ""]
    lines = [
        "## Scenarios",
        "",
        "Behaviours are scored on the parsed tool call of a greedy reply.",
        "",
        "| scenario | behaviour | base | adapter |",
        "|---|---|:-:|:-:|",
    ]
    mark = {True: "yes", False: "no"}
    for sc in scenarios:
        for name, got in sc.behaviours.items():
            lines.append(f"| {sc.id} | {name} | {mark[got['base']]} | {mark[got['adapter']]} |")
    return lines + [""]
