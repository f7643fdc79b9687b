"""`replay ROLE --sessions DIR` refuses what it cannot replay, saying why (the replay itself runs
in tests/defs/test_end_to_end.py on a trained adapter)."""

import shutil
import subprocess
import sys

import orjson

from gastown_assets.samples import SESSIONS_DIR
from tests.support import REPO, small_local_configs


def _replay(tmp_path, *args, configs=None):
    env = {
        "PATH": "/usr/bin:/bin",
        "GASTOWN_DATA_DIR": str(tmp_path / "data"),
        "GASTOWN_PROFILE": "tiny",
        "HF_HUB_OFFLINE": "1",
        **({"GASTOWN_CONFIG_DIR": str(configs)} if configs else {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "gastown_assets", "replay", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_an_unknown_role_is_refused_naming_the_roles(tmp_path):
    out = _replay(tmp_path, "janitor", "--sessions", str(SESSIONS_DIR))
    assert out.returncode == 1
    assert "replay: unknown role 'janitor'; roles: crew, deacon, mayor, polecat, refinery, witness" in out.stderr


def test_a_role_without_a_promoted_adapter_names_the_versions_evaluated(tmp_path):
    registry = tmp_path / "data/adapters/polecat/registry.json"
    registry.parent.mkdir(parents=True)
    registry.write_bytes(orjson.dumps({"current": None, "history": [{"version": "a1-b2"}]}))
    out = _replay(tmp_path, "polecat", "--sessions", str(SESSIONS_DIR), "--json")
    assert out.returncode == 1 and out.stdout == ""
    assert "no promoted adapter for polecat (evaluated: ['a1-b2'])" in out.stderr


def test_sessions_without_decisions_of_the_role_are_refused(tmp_path):
    configs = small_local_configs(tmp_path / "configs")
    adapter = tmp_path / "data/adapters/polecat/v1"
    adapter.mkdir(parents=True)
    for name in ("adapter_model.safetensors", "adapter_config.json"):
        (adapter / name).write_bytes(b"{}")
    (adapter.parent / "registry.json").write_bytes(orjson.dumps({"current": "v1", "history": [{"version": "v1"}]}))
    mayor_only = tmp_path / "sessions"
    shutil.copytree(SESSIONS_DIR / "-home-gt-gt-mayor", mayor_only / "-home-gt-gt-mayor")
    out = _replay(tmp_path, "polecat", "--sessions", str(mayor_only), configs=configs)
    assert out.returncode == 1
    assert f"replay: {mayor_only}: no decision points in 0 polecat session(s)" in out.stderr
