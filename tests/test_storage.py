"""The data dir as an object store: a real S3 server (SeaweedFS), no mocks."""

import os
import re
import time
from pathlib import Path

import pytest

from gastown_assets.settings import Settings
from gastown_assets.storage import LATEST, DataStore, StoreError


def _store(url: str, tmp_path: Path, name: str) -> DataStore:
    return Settings.create(
        data_dir=url,
        work_dir=str(tmp_path / name),
        storage={k: v for k, v in os.environ.items() if k.startswith("AWS_")},
    ).store


def test_a_published_set_is_readable_from_another_machine_by_its_versioned_uri(s3_env, tmp_path):
    writer, reader = _store(f"{s3_env}/prod", tmp_path, "a"), _store(f"{s3_env}/prod", tmp_path, "b")
    (writer.local / "datasets/crew").mkdir(parents=True)
    for name, text in (("train.jsonl", "t1\n"), ("val.jsonl", "v1\n")):
        (writer.local / "datasets/crew" / name).write_text(text)
    uris = writer.publish("datasets/crew", "v1", ["train.jsonl", "val.jsonl"])
    assert uris["train.jsonl"] == f"{s3_env}/prod/datasets/crew/v1/train.jsonl"
    assert reader.read_bytes(f"datasets/crew/{LATEST}") == b"v1"
    assert reader.read_bytes("datasets/crew/val.jsonl") == b"v1\n", "the contract name holds the latest"
    staged = reader.stage(uris["train.jsonl"])
    assert staged == tmp_path / "b/datasets/crew/v1/train.jsonl" and staged.read_text() == "t1\n"


def test_a_new_version_never_changes_what_an_old_handle_reads(s3_env, tmp_path):
    store = _store(s3_env, tmp_path, "a")
    (store.local / "x").mkdir(parents=True)
    (store.local / "x/f.txt").write_text("old")
    old = store.publish("x", "v1", ["f.txt"])["f.txt"]
    (store.local / "x/f.txt").write_text("new!")
    new = store.publish("x", "v2", ["f.txt"])["f.txt"]
    other = _store(s3_env, tmp_path, "b")
    assert other.stage(old).read_text() == "old" and other.stage(new).read_text() == "new!"
    assert other.read_bytes(f"x/{LATEST}") == b"v2"
    assert other.listdir("x") == ["LATEST", "f.txt", "v1", "v2"]


def test_a_failed_upload_leaves_the_previous_object(s3_env, tmp_path):
    store = _store(s3_env, tmp_path, "a")
    store.write_bytes("reports/crew/report.json", b'{"ok": 1}')
    with pytest.raises(FileNotFoundError):
        store.put("reports/crew/report.json", tmp_path / "no-such-file")
    assert _store(s3_env, tmp_path, "b").read_bytes("reports/crew/report.json") == b'{"ok": 1}'


def test_credentials_never_show_in_the_store_repr(s3_env, tmp_path):
    store = _store(s3_env, tmp_path, "a")
    assert store.options["secret"] and store.options["secret"] not in repr(store)
    assert store.options["secret"] not in repr(
        Settings.create(data_dir=s3_env, storage={"AWS_SECRET_ACCESS_KEY": "s3cr3t-value"})
    )


def test_a_local_data_dir_copies_nothing(tmp_path):
    store = DataStore.open(str(tmp_path / "d"))
    (store.local / "datasets/crew").mkdir(parents=True)
    (store.local / "datasets/crew/train.jsonl").write_text("t\n")
    uris = store.publish("datasets/crew", "v1", ["train.jsonl"])
    assert uris == {"train.jsonl": str(tmp_path / "d/datasets/crew/train.jsonl")}
    assert not store.remote and store.stage(uris["train.jsonl"]) == tmp_path / "d/datasets/crew/train.jsonl"
    assert sorted(p.name for p in (store.local / "datasets/crew").iterdir()) == ["train.jsonl"]


def test_an_unreachable_store_fails_naming_it(tmp_path, monkeypatch):
    for key, value in {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens there
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_MAX_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(key, value)
    store = _store("s3://nowhere/prefix", tmp_path, "a")
    with pytest.raises(StoreError, match=re.escape("s3://nowhere/prefix/adapters/crew/registry.json")):
        store.read_bytes("adapters/crew/registry.json")


def test_an_object_rewritten_under_the_same_key_is_staged_again(s3_env, tmp_path):
    writer, reader = _store(s3_env, tmp_path, "a"), _store(s3_env, tmp_path, "b")
    writer.write_bytes("adapters/crew/v1/adapter_model.safetensors", b"weights-1")
    uri = writer.uri("adapters/crew/v1/adapter_model.safetensors")
    assert reader.stage(uri).read_bytes() == b"weights-1"
    time.sleep(1.1)  # the store keeps whole seconds
    writer.write_bytes("adapters/crew/v1/adapter_model.safetensors", b"weights-2")  # same size, retrained
    assert reader.stage(uri).read_bytes() == b"weights-2"
