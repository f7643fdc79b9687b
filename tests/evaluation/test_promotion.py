"""Promotion moves `current` only to a better adapter and records every evaluation."""

import os

import orjson

from gastown_assets.evaluation import promotion
from gastown_assets.evaluation import report as reports
from gastown_assets.storage import DataStore


def _adapters(root, *versions):
    for version in versions:
        (root / "adapters" / "crew" / version).mkdir(parents=True)
        (root / "adapters" / "crew" / version / "adapter_model.safetensors").write_bytes(b"x")
    return DataStore.open(str(root)), root / "adapters" / "crew"


def _metrics(command, parse=1.0):
    return reports.Metrics(
        points=10,
        parse_rate=parse,
        tool_accuracy=command,
        command_accuracy=command,
        latency_p50_s=1.0,
        latency_p95_s=1.5,
    )


def _report(version, loss, base=7.0, regress=False, command=0.8, parse=1.0):
    return reports.Report(
        role="crew",
        adapter=reports.AdapterRef(path=f"/d/adapters/crew/{version}", version=version, config_digest="c"),
        datasets={"train_dataset": "t"},
        base_val_loss=base,
        adapter_val_loss=loss,
        base_val_perplexity=1.0,
        adapter_val_perplexity=1.0,
        val_tokens=100,
        val_rows=4,
        base_scenario_score=0.5,
        adapter_scenario_score=0.0 if regress else 0.5,
        scenarios=[],
        min_parse_rate=0.9,
        replay=reports.Replay(
            points=10, dtype="float32", base=_metrics(0.2, 0.4), adapter=_metrics(command, parse), examples=[]
        ),
    )


def test_promotes_only_an_adapter_better_than_base_and_current(tmp_path):
    store, role_dir = _adapters(tmp_path, "v1", "v2", "v3", "v4")
    steps = [("v1", 6.0, False, True), ("v2", 6.5, False, False), ("v3", 8.0, False, False), ("v4", 5.5, True, False)]
    for version, loss, regress, promoted in steps:
        current = promotion.current_entry(promotion.read_registry(store, "crew"))
        decision = promotion.decide(_report(version, loss, regress=regress), current)
        assert decision.promote is promoted, (version, decision.reason)
        promotion.record(store, "crew", _report(version, loss, regress=regress), decision)
        if decision.promote:
            promotion.point_current(store, "crew", version)
    registry = orjson.loads((role_dir / "registry.json").read_bytes())
    assert registry["current"] == "v1"
    assert [(h["version"], h["promoted"]) for h in registry["history"]] == [
        ("v1", True),
        ("v2", False),
        ("v3", False),
        ("v4", False),
    ]
    assert "held-out loss 8.0000 is not below the base's 7.0000" in registry["history"][2]["reason"]
    assert "scenario" in registry["history"][3]["reason"]
    assert os.readlink(role_dir / "current") == "v1" and (role_dir / "current").resolve() == role_dir / "v1"


def test_a_better_adapter_replaces_current_in_one_rename(tmp_path):
    store, role_dir = _adapters(tmp_path, "v1", "v2")
    promotion.point_current(store, "crew", "v1")
    promotion.point_current(store, "crew", "v2")
    assert os.readlink(role_dir / "current") == "v2"
    assert sorted(p.name for p in role_dir.iterdir()) == ["current", "v1", "v2"], "a temp link was left"


def test_same_version_twice_is_not_promoted_again():
    current = {"version": "v1", "adapter_val_loss": 6.0}
    assert not promotion.decide(_report("v1", 6.0), current).promote


def test_an_adapter_that_calls_the_wrong_commands_or_no_calls_is_not_promoted(tmp_path):
    store, _role_dir = _adapters(tmp_path, "v1", "v2")
    worse = promotion.decide(_report("v1", 5.0, command=0.2), None)
    assert not worse.promote and "command accuracy 20% does not beat the base's 20%" in worse.reason
    mute = promotion.decide(_report("v2", 5.0, parse=0.5), None)
    assert not mute.promote and "parse rate 50% is under the floor 90%" in mute.reason
    registry = promotion.record(store, "crew", _report("v2", 5.0, parse=0.5), mute)
    assert registry["current"] is None
    assert registry["history"][0]["replay"]["adapter"]["parse_rate"] == 0.5  # the figures it was judged on
