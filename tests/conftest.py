import os
import shutil

import pytest

from tests.support import CONFIG_DIR

# Never reach a model hub or W&B from tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("AXOLOTL_DO_NOT_TRACK", "1")
os.environ.setdefault("WANDB_MODE", "disabled")


@pytest.fixture
def config_copy(tmp_path):
    """A writable copy of configs/ to break on purpose."""
    dest = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, dest)
    return dest
