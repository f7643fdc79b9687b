"""What the launcher reads from Axolotl's output and where it resumes from."""

from gastown_assets.training.launch import adapter_version, latest_checkpoint, parse_log_line


def test_trainer_log_dicts_become_numbers():
    line = "  5%|▌ | 1/20 [00:00<00:02] {'loss': '6.731', 'grad_norm': '0.783', 'learning_rate': '0', 'epoch': '0.02222'}"
    assert parse_log_line(line) == {"loss": 6.731, "grad_norm": 0.783, "learning_rate": 0.0, "epoch": 0.02222}
    assert parse_log_line("{'eval_loss': '5.99', 'epoch': 0.4}")["eval_loss"] == 5.99


def test_other_lines_are_ignored():
    assert parse_log_line("[INFO] Saving model checkpoint to out/checkpoint-20") is None
    assert parse_log_line("{'loss': broken") is None


def test_resume_picks_the_highest_step_checkpoint(tmp_path):
    for step in (20, 100, 40):
        (tmp_path / f"checkpoint-{step}").mkdir()
    (tmp_path / "checkpoint-final").mkdir()
    assert latest_checkpoint(tmp_path).name == "checkpoint-100"
    assert latest_checkpoint(tmp_path / "nothing-here") is None


def test_adapter_version_changes_with_config_or_any_input_version():
    data = {"train_dataset": "t1", "val_dataset": "v1", "base_model": "b1"}
    version = adapter_version("abcdef0123", data)
    assert version.startswith("abcdef01-") and version == adapter_version("abcdef0123", dict(data))
    assert adapter_version("abcdef0123", {**data, "base_model": "b2"}) != version
    assert adapter_version("ffffff0123", data) != version
