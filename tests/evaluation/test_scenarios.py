"""Role scenarios: shipped files are valid, tool calls are parsed, behaviours need a real call."""

import pytest

from gastown_assets.config import ConfigError, role_names
from gastown_assets.evaluation.replay import first_call
from gastown_assets.evaluation.scenarios import Behaviour, ScenarioResult, load_scenarios, met, score
from tests.support import CONFIG_DIR

HOOK = Behaviour(behaviour="runs gt hook", tool="Bash", argument="command", pattern=r"\bgt hook\b")


def test_every_role_ships_scenarios_with_behaviours():
    for role in role_names(CONFIG_DIR):
        scenarios = load_scenarios(CONFIG_DIR, role)
        assert len(scenarios) >= 3, role
        assert all(sc.expect for sc in scenarios)
        assert len({sc.id for sc in scenarios}) == len(scenarios), f"{role}: duplicate scenario ids"


def test_a_bad_scenario_line_names_the_file_line_and_key(config_copy):
    path = config_copy / "eval" / "crew.jsonl"
    path.write_text(path.read_text() + '{"id": "x", "prompt": "hi", "expect": [{"behaviour": "b", "tool": "Bash"}]}\n')
    with pytest.raises(ConfigError) as err:
        load_scenarios(config_copy, "crew")
    assert err.value.path == str(path) and err.value.key.startswith("line 4: expect.0")


def test_a_behaviour_needs_a_matching_call_not_prose():
    assert met(HOOK, [{"name": "Bash", "arguments": {"command": "gt hook && bd mol current"}}])
    assert first_call("I will run gt hook now.") is None
    assert not met(HOOK, [{"name": "Read", "arguments": {"command": "gt hook"}}])
    assert not met(HOOK, [{"name": "Bash", "arguments": {"command": "gt hooks"}}])


def test_score_is_the_share_of_behaviours_met():
    results = [ScenarioResult("a", "", [], {"x": True, "y": False}), ScenarioResult("b", "", [], {"z": True})]
    assert score(results) == pytest.approx(2 / 3)
    assert score([]) is None
