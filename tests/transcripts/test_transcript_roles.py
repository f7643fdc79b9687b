"""Role tagging from a session's cwd, with the default patterns the role configs hold."""

from __future__ import annotations

import pytest

from gastown_assets.transcripts import RoleRule, tag_role

DEFAULT_RULES = (
    RoleRule("mayor", (r"/mayor(/|$)",)),
    RoleRule("deacon", (r"/deacon(/|$)",)),
    RoleRule("witness", (r"/witness(/|$)",)),
    RoleRule("refinery", (r"/refinery(/|$)",)),
    RoleRule("polecat", (r"/polecats/[^/]+",)),
    RoleRule("crew", (r"/crew/[^/]+",)),
)


@pytest.mark.parametrize(
    ("cwd", "role"),
    [
        ("/home/u/gt/mayor", "mayor"),
        ("/home/ubuntu/gt/mayor/", "mayor"),
        ("/Users/x/gt/deacon", "deacon"),
        ("/home/u/gt/deacon/dogs/rex", "deacon"),
        ("/home/u/gt/deacon/dogs/boot", "deacon"),
        ("/home/u/gt/my-rig/witness", "witness"),
        ("/home/u/gt/my-rig/refinery/rig", "refinery"),
        ("/home/u/gt/lora-forge-v2/refinery/rig/src", "refinery"),
        ("/home/u/gt/my-rig/polecats/nux", "polecat"),
        ("/home/u/gt/my-rig/polecats/nux/my-rig", "polecat"),
        ("/home/u/gt/my-rig/polecats/nux/my-rig/src/mayor", "polecat"),
        ("/Users/x/gt/web-app/crew/joe", "crew"),
        ("/Users/x/gt/web-app/crew/joe/docs/witness", "crew"),
        ("/home/u/gt/witness-tools/polecats/ace", "polecat"),  # rig named like a role
        ("C:\\Users\\x\\gt\\my-rig\\polecats\\ace", "polecat"),
    ],
)
def test_gas_town_cwds_get_their_role(cwd, role):
    assert tag_role(cwd, DEFAULT_RULES) == role


@pytest.mark.parametrize(
    "cwd",
    [
        "",
        "/Users/csells/Code/gastownhall/website-cc",
        "/home/u/src/mayoral-race",
        "/home/u/gt/my-rig/polecats",  # the folder of all polecats, not one
        "/home/u/gt/my-rig/crew",
    ],
)
def test_paths_outside_gas_town_roles_get_none(cwd):
    assert tag_role(cwd, DEFAULT_RULES) is None


def test_a_tie_goes_to_the_earlier_rule():
    rules = (RoleRule("first", (r"/gt/",)), RoleRule("second", (r"/gt/x",)))
    assert tag_role("/home/gt/x", rules) == "first"
    assert tag_role("/home/gt/x", rules[::-1]) == "second"


def test_any_of_a_rules_patterns_can_match():
    rules = (RoleRule("mayor", (r"/hq$", r"/mayor(/|$)")),)
    assert tag_role("/srv/town/hq", rules) == "mayor"
    assert tag_role("/srv/town/mayor", rules) == "mayor"
    assert tag_role("/srv/town/hq", ()) is None
