"""The eval report: what a reader sees, and the gate promotion applies (behaviour, not loss alone)."""

import orjson

from gastown_assets.config import EvalSpec
from gastown_assets.evaluation import report as reports
from gastown_assets.evaluation.loss import LossResult
from gastown_assets.evaluation.plot import loss_curve_png
from gastown_assets.evaluation.replay import DecisionPoint, Reply
from gastown_assets.evaluation.run import Evaluation
from gastown_assets.evaluation.scenarios import ScenarioResult

HISTORY = [{"loss": 7.1, "step": 1}, {"loss": 6.5, "step": 2}, {"eval_loss": 6.6, "step": 2}, {"loss": 6.0, "step": 3}]
SPEC = EvalSpec(replay_points=10, max_new_tokens=64, min_parse_rate=0.9, loss_rows=8, examples=2)
HOOK = {"name": "Bash", "arguments": {"command": "gt hook"}}
CLOSE = {"name": "Bash", "arguments": {"command": "bd close gt-1.2"}}
READ = {"name": "Read", "arguments": {"file_path": "/w/x.go"}}


def _point(call, session="s1"):
    return DecisionPoint(
        session, [{"role": "system", "content": "polecat"}, {"role": "user", "content": "Work your hook."}], call
    )


def _evaluation(tuned_calls, base_loss=7.0, tuned_loss=6.0):
    points = [_point(HOOK), _point(CLOSE), _point(READ), _point(HOOK)]
    base = [Reply("I will look.", None, 2.0), Reply("ok", None, 2.2), Reply("", READ, 1.5), Reply("", None, 2.1)]
    tuned = [Reply("", c, 0.9 + i / 10) for i, c in enumerate(tuned_calls)]
    sc_base = [ScenarioResult("hook-first", "I will look.", [], {"runs gt hook": False})]
    sc_tuned = [ScenarioResult("hook-first", "<tool_call>...", [HOOK], {"runs gt hook": True})]
    return Evaluation(
        LossResult(base_loss, 100, 4),
        LossResult(tuned_loss, 100, 4),
        sc_base,
        sc_tuned,
        points,
        base,
        tuned,
        "bfloat16",
    )


def _report(ev):
    return reports.build_report(
        "polecat",
        reports.AdapterRef(path="/a/v1", version="v1", config_digest="c1"),
        {"train_dataset": "t1", "val_dataset": "v1"},
        ev,
        SPEC,
    )


def test_report_shows_replay_loss_and_scenarios_side_by_side_with_lineage():
    report = _report(_evaluation([HOOK, CLOSE, READ, {"name": "Bash", "arguments": {"command": "gt done"}}]))
    r = report.replay
    assert (r.points, r.base.parse_rate, r.base.command_accuracy) == (4, 0.25, 0.25)
    assert (r.adapter.parse_rate, r.adapter.tool_accuracy, r.adapter.command_accuracy) == (1.0, 1.0, 0.75)
    assert r.adapter.latency_p50_s == 1.05 and r.base.latency_p50_s == 2.05
    assert report.beats_base and report.gate_failures() == []
    md = reports.to_markdown(report)
    assert "| base | 25% | 25% | 25% | 2.05 s |" in md and "| base + adapter | 100% | 100% | 75% | 1.05 s |" in md
    assert "| base | 7.0000 |" in md and "| base + adapter | 6.0000 |" in md
    assert "| hook-first | runs gt hook | no | yes |" in md
    assert "![training loss](loss.png)" in md
    assert "version `v1`" in md and "- train_dataset: `t1`" in md
    assert len(r.examples) == 2 and "`gt done`" not in md.split("### Examples")[0]
    assert any(ex.adapter_call != ex.real_call for ex in r.examples)  # a miss is shown, not only hits


def test_gate_needs_better_commands_and_parse_rate_not_only_lower_loss():
    # lower loss, but the adapter calls the wrong commands: no promotion
    wrong = _report(_evaluation([CLOSE, HOOK, HOOK, CLOSE]))
    assert wrong.beats_base_on_loss and not wrong.beats_base
    assert any("command accuracy 0% does not beat the base's 25%" in f for f in wrong.gate_failures())
    # right commands but a parse rate under the floor
    sloppy = _report(_evaluation([HOOK, CLOSE, None, None]))
    assert sloppy.replay.adapter.command_accuracy > sloppy.replay.base.command_accuracy
    assert any("parse rate 50% is under the floor 90%" in f for f in sloppy.gate_failures())
    # better behaviour, worse loss
    lossy = _report(_evaluation([HOOK, CLOSE, READ, HOOK], tuned_loss=7.5))
    assert [f for f in lossy.gate_failures() if "held-out loss" in f]


def test_report_json_holds_the_contract_keys_and_the_verdict():
    data = orjson.loads(_report(_evaluation([HOOK, CLOSE, READ, HOOK])).to_json())
    assert {"role", "adapter", "base_val_loss", "adapter_val_loss"} <= set(data)
    assert data["adapter"] == {"path": "/a/v1", "version": "v1", "config_digest": "c1"}
    assert data["adapter_beats_base"] is True and data["gate_failures"] == []
    assert data["replay"]["adapter"]["command_accuracy"] == 1.0


def test_loss_curve_is_a_png():
    png = loss_curve_png(HISTORY, "polecat v1")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000


def test_the_tiny_wiring_profile_gates_on_loss_only():
    ev = _evaluation([None, None, None, None])
    tiny = reports.build_report(
        "polecat",
        reports.AdapterRef(path="/a/v1", version="v1", config_digest="c1"),
        {},
        ev,
        SPEC.model_copy(update={"gate": "loss"}),
    )
    assert tiny.beats_base and not _report(ev).beats_base
