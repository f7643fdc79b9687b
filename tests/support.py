"""Paths shared by tests (the fixtures in ../shared are read in place, never copied)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "configs"
SHARED_SESSIONS = REPO.parent / "shared" / "fixtures" / "claude_sessions"


def small_local_configs(dest: Path, max_steps: int = 4, profile: str = "tiny") -> Path:
    """configs/ with a profile cut to a few steps and a short eval, for tests about wiring (tiny)
    or a quick real run (local: SmolLM2)."""
    import shutil

    import yaml

    shutil.copytree(CONFIG_DIR, dest)
    path = dest / "profiles" / f"{profile}.yml"
    data = yaml.safe_load(path.read_text())
    data["axolotl"].update(max_steps=max_steps, save_steps=max_steps, warmup_steps=1)
    if data["axolotl"].get("eval_strategy") != "no":
        data["axolotl"]["eval_steps"] = max_steps
    if "tiny_model" in data:
        data["tiny_model"].update(pretrain_steps=5, pretrain_chars=200_000)
    data.setdefault("eval", {}).update(replay_points=8, loss_rows=8)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


def role_sessions(
    dest: Path, config_dir: Path, folder_glob: str = "*-polecats-*", train: int = 8, val: int = 2
) -> Path:
    """A few sample sessions (polecats by default): `train` that the split puts in train and `val`
    in val (the session id is the file name), so both files have rows but little data."""
    import shutil

    import yaml

    from gastown_assets.datasets.split import is_val
    from gastown_assets.samples import SESSIONS_DIR

    spec = yaml.safe_load((config_dir / "base.yml").read_text())["dataset"]
    wanted = {False: train, True: val}
    for path in sorted(SESSIONS_DIR.glob(f"{folder_glob}/*.jsonl")):
        side = is_val(path.stem, spec["val_fraction"], spec["split_salt"])
        if wanted[side] == 0:
            continue
        wanted[side] -= 1
        (dest / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest / path.parent.name / path.name)
        if path.with_suffix("").is_dir():  # its subagents/
            shutil.copytree(path.with_suffix(""), dest / path.parent.name / path.stem)
    assert wanted == {False: 0, True: 0}, f"too few {folder_glob} samples for the split: {wanted} missing"
    return dest


def stop_group(proc, grace_s: float = 20) -> None:
    """SIGTERM a process started with start_new_session=True and its children, SIGKILL after grace_s."""
    import os
    import signal
    import subprocess

    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
