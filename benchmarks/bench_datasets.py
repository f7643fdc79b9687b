"""Datasets build throughput on a generated corpus, against two floors (run by `make bench`).

    python benchmarks/bench_datasets.py [--sizes 200,1000] [--workdir DIR]

For each size it generates a corpus with the sample generator under successive seeds (each seed
a new set of sessions for all six roles, ~4 MB), then prints, for the build of every role's train/val files:
MB/s, peak RSS, the orjson floor (a bare orjson.loads of every line), the tokenizer floor (the
tokenizer encoding the text that ends up in rows), the ratio to the larger floor, and the time
of an incremental rerun after one new session.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gastown_assets.samples import SESSIONS_DIR  # noqa: E402
from tools.samples.generate import SEED  # noqa: E402
from tools.samples.generate import build as build_corpus  # noqa: E402

MB = 1_000_000


def generate(out: Path, size_mb: int) -> int:
    """Sample corpora from the sample generator (tools/samples) under successive seeds, until size_mb."""
    written, seed = 0, SEED
    while written < size_mb * MB:
        files, _ = build_corpus(seed)
        for rel, data in files.items():
            dest = out / f"seed{seed}" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
            written += len(data)
        seed += 1
    return written


def orjson_floor(corpus: Path) -> float:
    start = time.perf_counter()
    for path in corpus.rglob("*.jsonl"):
        with path.open("rb") as f:
            for line in f:
                try:
                    orjson.loads(line)
                except orjson.JSONDecodeError:
                    pass
    return time.perf_counter() - start


def tokenizer_floor(data: Path, model_dir: Path) -> tuple[float, int]:
    """Encode the rendered rows of every dataset file, as the build had to."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    texts = []
    for path in data.glob("datasets/*/*.jsonl"):
        with path.open("rb") as f:
            texts += [tok.apply_chat_template(orjson.loads(line)["messages"], tokenize=False) for line in f]
    start = time.perf_counter()
    for i in range(0, len(texts), 256):
        tok(texts[i : i + 256], add_special_tokens=False)
    return time.perf_counter() - start, sum(len(t) for t in texts)


def _tree_rss(root: int) -> tuple[int, int]:
    """(resident bytes of a process and all its descendants (the build's worker processes), the
    largest peak (VmHWM) among them)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            children.setdefault(int(stat.read_text().rsplit(")", 1)[1].split()[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    total = peak = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            status = dict(
                line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
            )
            total += int(status["VmRSS"].split()[0]) * 1024
            peak = max(peak, int(status["VmHWM"].split()[0]) * 1024)
        except (OSError, KeyError, ValueError):
            pass
        todo += children.get(pid, [])
    return total, peak


def run_build(corpus: Path, data: Path) -> tuple[float, int, int]:
    """The build of every role in a child process: (seconds, peak RSS of the largest process
    and peak RSS of the process with its workers together, in MB; both sampled every 0.2 s:
    ru_maxrss would count the RSS this bench process had when it forked the child)."""
    env = {**os.environ, "GASTOWN_SESSIONS_DIR": str(corpus), "GASTOWN_DATA_DIR": str(data)}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.build_all"], cwd=REPO, env=env)
    peak, done = [0, 0], threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            tree, largest = _tree_rss(proc.pid)
            peak[0], peak[1] = max(peak[0], tree), max(peak[1], largest)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    status = proc.wait()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if status != 0:
        raise SystemExit(f"build failed with status {status}")
    return seconds, peak[1] // MB, peak[0] // MB


def bench(size_mb: int, work: Path) -> None:
    corpus, data = work / f"corpus-{size_mb}", work / f"data-{size_mb}"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(data, ignore_errors=True)
    nbytes = generate(corpus, size_mb)
    mb = nbytes / MB
    # the base model is built once per workdir (minutes) and copied in; the build under test only uses it
    shared = work / "base-model"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.build_all", "--model-only"],
        cwd=REPO,
        check=True,
        env={**os.environ, "GASTOWN_DATA_DIR": str(shared)},
    )
    shutil.copytree(shared / "models", data / "models")
    floor_json = orjson_floor(corpus)
    full, rss, tree_rss = run_build(corpus, data)
    model_dir = next(p.parent for p in (data / "models").glob("*/config.json"))  # the profile's base model
    floor_tok, row_chars = tokenizer_floor(data, model_dir)
    # one new session: a copy of one sample polecat file under a fresh id
    src = next(p for p in sorted(SESSIONS_DIR.rglob("*.jsonl")) if "polecats" in p.parent.name)
    new = corpus / "new" / src.parent.name / f"{uuid.uuid4()}.jsonl"
    new.parent.mkdir(parents=True)
    new.write_bytes(src.read_bytes().replace(src.stem.encode(), new.stem.encode()))
    incremental, inc_rss, inc_tree_rss = run_build(corpus, data)
    floor = max(floor_json, floor_tok)
    print(
        f"\n== corpus {mb:.0f} MB, {sum(1 for _ in corpus.rglob('*.jsonl'))} files "
        f"(row text {row_chars / MB:.0f} MB), {os.cpu_count()} CPUs =="
    )
    print(
        f"datasets build, all 6 roles : {full:7.1f} s  {mb / full:6.1f} MB/s  "
        f"peak RSS {rss} MB (largest process), {tree_rss} MB (with its workers, sampled)"
    )
    print(f"floor: bare orjson loop     : {floor_json:7.1f} s  {mb / floor_json:6.1f} MB/s")
    print(f"floor: tokenizer on row text: {floor_tok:7.1f} s")
    print(f"build / larger floor        : {full / floor:7.1f} x")
    print(
        f"incremental, +1 session     : {incremental:7.1f} s  ({100 * incremental / full:.1f} % of full)  "
        f"peak RSS {inc_rss} MB, {inc_tree_rss} MB with workers"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,1000", help="corpus sizes in MB, comma-separated")
    parser.add_argument("--workdir", default=str(REPO / ".gastown" / "bench"))
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    for size in (int(s) for s in args.sizes.split(",")):
        bench(size, work)


if __name__ == "__main__":
    main()
