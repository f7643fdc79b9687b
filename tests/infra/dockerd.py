"""A Docker daemon of the test's own and a base image built without any registry.

`Dockerd` runs Debian's `dockerd` (which starts its own `containerd` and uses `runc`) on a socket,
data root, exec root and pid file under a directory the caller owns: no bridge, no iptables, so it
works in a sandbox with no network setup; containers use the host network. `base_image_tarball`
builds a minimal Debian root file system with `debootstrap --variant=minbase` (only the shared
libraries a host-built CPython and its wheels load; the Python install itself is bind-mounted)
and caches the tarball; `import_image` turns it into an image with `docker import`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

SUITE = "bookworm"
# What a CPython built on bookworm (and the venv's wheels) load from the system.
BASE_PACKAGES = (
    "libssl3",
    "libsqlite3-0",
    "libexpat1",
    "libreadline8",
    "libncursesw6",
    "libffi8",
    "libbz2-1.0",
    "liblzma5",
    "zlib1g",
    "libuuid1",
    "ca-certificates",
)
TOOLS = ("dockerd", "containerd", "runc", "debootstrap")
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _search_path() -> str:
    return os.pathsep.join([os.environ.get("PATH", ""), SBIN_PATH])


def which(tool: str) -> str | None:
    return shutil.which(tool, path=_search_path())


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if which(tool) is None]


def apt_mirror(suite: str = SUITE, etc: Path = Path("/etc/apt")) -> str | None:
    """The mirror apt already uses for `suite` (deb822 .sources or one-line .list), so
    debootstrap goes where apt goes; None lets debootstrap pick its default."""
    files = [
        etc / "sources.list",
        *sorted((etc / "sources.list.d").glob("*.list")),
        *sorted((etc / "sources.list.d").glob("*.sources")),
    ]
    for path in files:
        try:
            text = path.read_text()
        except OSError:
            continue
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(re.findall(r"(?m)^(\w[\w-]*):\s*(.*)$", stanza))
                if (
                    "deb" in fields.get("Types", "").split()
                    and suite in fields.get("Suites", "").split()
                    and fields.get("Enabled", "yes") != "no"
                ):
                    return fields["URIs"].split()[0]
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", "", line.split("#")[0]).split()
                if len(words) >= 3 and words[0] == "deb" and words[2] == suite:
                    return words[1]
    return None


def base_image_tarball(cache_dir: Path, suite: str = SUITE, packages=BASE_PACKAGES) -> Path:
    """The minbase root file system as a tar, built once and kept in `cache_dir`."""
    key = hashlib.sha256(f"{suite}|minbase|{','.join(packages)}".encode()).hexdigest()[:12]
    cache_dir.mkdir(parents=True, exist_ok=True)
    tarball = cache_dir / f"rootfs-{suite}-minbase-{key}.tar"
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tarball.is_file():
            return tarball
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".build-") as work:
            rootfs, log = Path(work) / "rootfs", cache_dir / "debootstrap.log"
            cmd = [
                which("debootstrap") or "debootstrap",
                "--variant=minbase",
                f"--include={','.join(packages)}",
                suite,
                str(rootfs),
            ]
            mirror = apt_mirror(suite)
            if mirror:
                cmd.append(mirror)
            with open(log, "wb") as out:
                done = subprocess.run(
                    cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PATH": _search_path()}
                )
            if done.returncode != 0:
                tail = log.read_text(errors="replace").splitlines()[-30:]
                raise RuntimeError(f"debootstrap exited with {done.returncode}; {log}:\n" + "\n".join(tail))
            partial = Path(work) / "rootfs.tar"
            subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
            os.replace(partial, tarball)
    return tarball


def import_image(client, tarball: Path, repository: str = "gastown-test-base") -> str:
    """`docker import` of the tarball; the tag is the tarball's cache key."""
    tag = tarball.stem.rsplit("-", 1)[-1]
    name = f"{repository}:{tag}"
    with contextlib.suppress(Exception):
        client.images.get(name)
        return name
    client.api.import_image_from_file(str(tarball), repository=repository, tag=tag)
    client.images.get(name)  # raises when the import did not happen
    return name


def python_mounts() -> list[Path]:
    """Host paths a container needs to run this interpreter's venv: the base install (its prefix,
    or on a system Python its binary, stdlib and shared libpython), the venv itself."""
    base = Path(sys.base_prefix)
    paths: set[Path] = {Path(sys.prefix)}
    if base not in (Path("/usr"), Path("/"), Path("/usr/local")):
        paths.add(base)
    else:
        paths.update(Path(sysconfig.get_path(name)) for name in ("stdlib", "platstdlib"))
        link = Path(sys.prefix) / "bin" / "python3"
        while link.is_symlink():  # each link of venv/bin/python3 -> /usr/bin/python3 -> python3.11
            target = Path(os.readlink(link))
            link = target if target.is_absolute() else link.parent / target
            if not str(link).startswith(str(Path(sys.prefix)) + os.sep):
                paths.add(link)
        paths.add(Path(os.path.realpath(link)))
        if sysconfig.get_config_var("Py_ENABLE_SHARED"):
            libdir, lib = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("LDLIBRARY")
            for path in Path(libdir).glob(f"{lib}*"):
                paths.add(path)
    return sorted(paths)


def outermost(paths) -> list[Path]:
    """Drop paths that lie inside another one (bind mounts of both would collide)."""
    out: list[Path] = []
    for path in sorted({Path(p) for p in paths}, key=lambda p: len(p.parts)):
        if not any(path == kept or kept in path.parents for kept in out):
            out.append(path)
    return sorted(out)


class Dockerd:
    """`dockerd` on a socket of its own under `root`; stop() ends it and its containerd."""

    def __init__(self, root: Path):
        self.root = root
        self.socket = root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.data_root, self.exec_root = root / "data", root / "exec"
        self.log = root / "dockerd.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> Dockerd:

        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "daemon.json"
        config.write_text("{}\n")  # never read the machine's /etc/docker/daemon.json
        cmd = [
            which("dockerd") or "dockerd",
            "--host",
            self.host,
            "--config-file",
            str(config),
            "--data-root",
            str(self.data_root),
            "--exec-root",
            str(self.exec_root),
            "--pidfile",
            str(self.root / "docker.pid"),
            "--bridge",
            "none",
            "--iptables=false",
            "--ip-masq=false",
        ]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, "PATH": _search_path()},
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if self.socket.exists() and self.client().ping():
                    return self
            except Exception:  # not answering yet
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"dockerd did not answer on {self.socket} in {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.5)

    def client(self):
        import docker

        return docker.DockerClient(base_url=self.host, version="auto", timeout=120)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def remove_all_containers(self) -> None:
        with contextlib.suppress(Exception):
            client = self.client()
            for container in client.containers.list(all=True):
                with contextlib.suppress(Exception):
                    container.remove(force=True, v=True)

    def stop(self, grace: float = 30) -> None:
        """TERM the daemon's process group (dockerd shuts its containerd down), KILL after `grace`;
        then any containerd it left behind, found by its own pid file under our exec root."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
            if proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(wait)
        pidfile = self.exec_root / "containerd" / "containerd.pid"
        with contextlib.suppress(OSError, ValueError, ProcessLookupError):
            os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)

    def leftover_mounts(self) -> list[str]:
        """Mount points under our root (dockerd leaves `exec/netns/default` mounted), deepest first."""
        prefix = str(self.root) + os.sep
        try:
            lines = Path("/proc/self/mountinfo").read_text().splitlines()
        except OSError:
            return []
        points = [line.split()[4].encode().decode("unicode_escape") for line in lines]
        return sorted({p for p in points if p.startswith(prefix)}, key=len, reverse=True)

    def remove_data(self) -> None:
        """Unmount what the daemon left and delete its data root (image layers: hundreds of MB;
        pytest keeps the last few tmp dirs)."""
        for point in self.leftover_mounts():
            subprocess.run(["umount", "-l", point], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        for path in (self.data_root, self.exec_root):
            shutil.rmtree(path, ignore_errors=True)
