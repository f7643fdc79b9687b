"""A training job written by one machine and staged by another that shares only the store."""

from pathlib import Path

from gastown_assets.config import ResolvedConfig
from gastown_assets.storage import DataStore
from gastown_assets.training import remote


def _resolved(root: Path) -> ResolvedConfig:
    return ResolvedConfig(
        "crew",
        "tiny",
        {
            "base_model": "Qwen/Qwen2.5-7B-Instruct",
            "datasets": [{"path": f"{root}/datasets/crew/v1/train.jsonl", "type": "chat_template"}],
            "test_datasets": [{"path": f"{root}/datasets/crew/v1/val.jsonl", "split": "train"}],
            "output_dir": f"{root}/adapters/crew/.work-v1",
            "dataset_prepared_path": f"{root}/prepared/crew/abc",
            "wandb_project": f"{root}-elsewhere",  # shares the prefix but not the folder: left alone
        },
        ("base.yml",),
    )


def test_a_job_names_store_keys_and_another_machine_gets_its_own_paths(tmp_path):
    writer = DataStore(str(tmp_path / "shared"), tmp_path / "shared")  # a folder both machines mount
    job_uri = remote.write_job(writer, _resolved(writer.local), "adapters/crew/v1", num_processes=2)
    text = (tmp_path / "shared/jobs/crew/v1.yml").read_text()
    assert str(tmp_path) not in text.replace(f"{tmp_path}/shared-elsewhere", "")
    assert "{data_dir}/datasets/crew/v1/train.jsonl" in text

    for split in ("train", "val"):
        (writer.local / f"datasets/crew/v1/{split}.jsonl").parent.mkdir(parents=True, exist_ok=True)
        (writer.local / f"datasets/crew/v1/{split}.jsonl").write_text("{}\n")
    job = remote.stage_job(writer, job_uri)
    cfg = job.resolved.axolotl
    assert cfg["datasets"][0]["path"] == f"{writer.local}/datasets/crew/v1/train.jsonl"
    assert cfg["output_dir"] == str(job.work_dir) == f"{writer.local}/adapters/crew/.work-v1"
    assert cfg["wandb_project"] == f"{tmp_path}/shared-elsewhere"
    assert cfg["base_model"] == "Qwen/Qwen2.5-7B-Instruct"  # a hub id is not staged
    assert (job.adapter_key, job.num_processes) == ("adapters/crew/v1", 2)
