"""eval_report refuses to judge an adapter whose files are missing."""

import dagster as dg
import pytest

from gastown_assets.datasets.build import DatasetFile
from gastown_assets.defs.evaluation import eval_report
from gastown_assets.defs.resources import GastownConfig
from gastown_assets.training.base_model import BaseModel
from gastown_assets.training.plan import Adapter


def test_eval_report_cannot_run_on_a_missing_adapter(tmp_path):
    gone = tmp_path / "adapters" / "crew" / "v1"
    gone.mkdir(parents=True)
    (gone / "adapter_config.json").write_text("{}")  # weights missing, e.g. a half-deleted folder
    adapter = Adapter("crew", str(gone), "v1", "c1", {"train_dataset": "t1"})
    with pytest.raises(dg.Failure, match=r"adapter v1 is missing adapter_model.safetensors, log_history.json"):
        eval_report(
            dg.build_asset_context(partition_key="crew"),
            gastown=GastownConfig(data_dir=str(tmp_path), profile="tiny"),
            base_model=BaseModel("unused", "d", built=True),
            lora_adapter=adapter,
            val_dataset=DatasetFile(str(tmp_path / "val.jsonl"), rows=1),
        )
    assert not (tmp_path / "reports").exists()
