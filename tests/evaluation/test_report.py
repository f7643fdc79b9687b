"""report.md and the loss curve: what a reader of an eval report sees."""

from gastown_assets.evaluation import report as reports
from gastown_assets.evaluation.loss import LossResult
from gastown_assets.evaluation.plot import loss_curve_png
from gastown_assets.evaluation.run import Evaluation
from gastown_assets.evaluation.scenarios import ScenarioResult

HISTORY = [{"loss": 7.1, "step": 1}, {"loss": 6.5, "step": 2}, {"eval_loss": 6.6, "step": 2}, {"loss": 6.0, "step": 3}]


def _evaluation():
    base = [ScenarioResult("hook-first", "I will look.", [], {"runs gt hook": False})]
    tuned = [ScenarioResult("hook-first", "<tool_call>...", [{"name": "Bash", "arguments": {"command": "gt hook"}}],
                            {"runs gt hook": True})]
    return Evaluation(LossResult(7.0, 100, 4), LossResult(6.0, 100, 4), base, tuned)


def test_report_shows_loss_and_scenarios_side_by_side_with_lineage():
    report = reports.build_report("polecat", {"path": "/a/v1", "version": "v1", "config_digest": "c1"},
                                  {"train_dataset": "t1", "val_dataset": "v1"}, _evaluation())
    assert report["adapter_beats_base"] and not report["scenarios_regress"]
    assert (report["base_scenario_score"], report["adapter_scenario_score"]) == (0.0, 1.0)
    md = reports.to_markdown(report)
    assert "| base | 7.0000 |" in md and "| base + adapter | 6.0000 |" in md
    assert "| hook-first | runs gt hook | no | yes |" in md
    assert "![training loss](loss.png)" in md
    assert "version `v1`" in md and "- train_dataset: `t1`" in md


def test_loss_curve_is_a_png():
    png = loss_curve_png(HISTORY, "polecat v1")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000
