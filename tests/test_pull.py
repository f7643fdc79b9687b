"""pull-adapter on a local data dir (the object-store path is in tests/defs/test_object_store.py)."""

import subprocess
import sys

import orjson
import pytest

from gastown_assets.pull import PullError, pull_adapter
from gastown_assets.storage import DataStore


def _data_dir(root):
    adapter = root / "adapters/crew/v2"
    adapter.mkdir(parents=True)
    for name in ("adapter_model.safetensors", "adapter_config.json", "log_history.json"):
        (adapter / name).write_bytes(name.encode())
    registry = {"current": "v2", "history": [{"version": "v1"}, {"version": "v2"}]}
    (root / "adapters/crew/registry.json").write_bytes(orjson.dumps(registry))
    return DataStore.open(str(root))


def test_pulls_the_promoted_version_and_replaces_dest_whole(tmp_path):
    store = _data_dir(tmp_path / "data")
    dest = tmp_path / "serve" / "crew"
    dest.mkdir(parents=True)
    (dest / "stale.bin").write_bytes(b"old")
    assert pull_adapter(store, "crew", dest) == dest
    assert sorted(p.name for p in dest.iterdir()) == [
        "adapter_config.json",
        "adapter_model.safetensors",
        "log_history.json",
    ]
    assert sorted(p.name for p in dest.parent.iterdir()) == ["crew"], "a partial folder was left"


@pytest.mark.parametrize(
    "role, version, message",
    [
        ("crew", "v9", "adapters/crew/v9: no adapter there"),
        ("../etc", None, "role '../etc'"),
        ("crew", "../v2", "version '../v2'"),
        ("mayor", None, "no promoted adapter for mayor"),
    ],
)
def test_refuses_what_is_not_an_adapter(tmp_path, role, version, message):
    store = _data_dir(tmp_path / "data")
    with pytest.raises(PullError, match=message.replace(".", r"\.")):
        pull_adapter(store, role, tmp_path / "out", version)
    assert not (tmp_path / "out").exists()


def test_the_command_prints_the_folder(tmp_path):
    _data_dir(tmp_path / "data")
    out = subprocess.run(
        [sys.executable, "-m", "gastown_assets", "pull-adapter", "crew", "--version", "v2"],
        env={"GASTOWN_DATA_DIR": str(tmp_path / "data"), "PATH": ""},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(tmp_path / "crew-v2")
