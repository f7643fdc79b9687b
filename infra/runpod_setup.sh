#!/usr/bin/env bash
# Start the GPU deployment (infra/docker-compose.yml) on one machine with Docker, the compose
# plugin and the NVIDIA Container Toolkit: a GPU VM or bare-metal box (RunPod, Lambda, your own).
# A RunPod *pod* is itself a container without a Docker daemon: use a machine that has one.
#
#   GASTOWN_HOST_SESSIONS_DIR=$HOME/.claude/projects infra/runpod_setup.sh
#
# It builds the training image, checks torch sees the GPUs inside it, fetches the GPU profile's
# base model into the data folder's HF cache (runs then train offline), starts Postgres and
# Dagster (code server, webserver on 127.0.0.1:3000, daemon), and sets the `gpu` pool to one slot.
# Rerunning it is safe: it rebuilds (cached layers) and restarts what changed.
#
# Environment:
#   GASTOWN_HOST_SESSIONS_DIR  folder of Claude Code project folders (required; mounted read only)
#   GASTOWN_HOST_DATA_DIR      all outputs, HF cache, Dagster step logs
#                              (default /workspace/gastown when /workspace exists, else ~/gastown-data)
#   GASTOWN_IMAGE              image tag (default gastown-train:latest)
#   WANDB_API_KEY, WANDB_PROJECT, WANDB_ENTITY, WANDB_MODE   W&B; the key is never written to disk
#   HF_TOKEN                   for gated base models
#   DOCKER_BUILD_ARGS          extra `docker build` arguments (e.g. --build-arg MAX_JOBS=4)
#   SKIP_BUILD=1, SKIP_PREFETCH=1
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf '\n==> %s\n' "$*"; }
die() { printf 'runpod_setup: %s\n' "$*" >&2; exit 1; }

# -- prerequisites ------------------------------------------------------------------------------
command -v docker >/dev/null || die "docker not found: install Docker Engine and the NVIDIA Container Toolkit"
docker info >/dev/null 2>&1 || die "cannot reach the Docker daemon (is it running? are you in the docker group?)"
docker compose version >/dev/null 2>&1 || die "the Docker compose plugin (docker compose v2) is missing"
docker info --format '{{json .Runtimes}}' | grep -q nvidia \
  || echo "warning: Docker lists no 'nvidia' runtime; GPU containers need the NVIDIA Container Toolkit (nvidia-ctk runtime configure)" >&2

: "${GASTOWN_HOST_SESSIONS_DIR:?set GASTOWN_HOST_SESSIONS_DIR to the folder of Claude Code project folders}"
[ -d "$GASTOWN_HOST_SESSIONS_DIR" ] || die "GASTOWN_HOST_SESSIONS_DIR=$GASTOWN_HOST_SESSIONS_DIR is not a folder"
if [ -z "${GASTOWN_HOST_DATA_DIR:-}" ]; then
  if [ -d /workspace ]; then GASTOWN_HOST_DATA_DIR=/workspace/gastown; else GASTOWN_HOST_DATA_DIR=$HOME/gastown-data; fi
fi
mkdir -p "$GASTOWN_HOST_DATA_DIR"
GASTOWN_HOST_SESSIONS_DIR=$(cd "$GASTOWN_HOST_SESSIONS_DIR" && pwd)
GASTOWN_HOST_DATA_DIR=$(cd "$GASTOWN_HOST_DATA_DIR" && pwd)
export GASTOWN_HOST_SESSIONS_DIR GASTOWN_HOST_DATA_DIR
# Outputs: a bucket when GASTOWN_DATA_DIR=s3://… is set (with AWS_* credentials), else the volume.
export GASTOWN_DATA_DIR=${GASTOWN_DATA_DIR:-/data/gastown}
export GASTOWN_IMAGE=${GASTOWN_IMAGE:-gastown-train:latest}

# The Postgres password is made once and kept beside the data (mode 600), never in the repo.
env_file=$GASTOWN_HOST_DATA_DIR/.deploy.env
if [ ! -f "$env_file" ]; then
  (umask 077; printf 'DAGSTER_POSTGRES_PASSWORD=%s\n' "$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" >"$env_file")
fi
set -a
# shellcheck source=/dev/null
. "$env_file"
set +a
compose=(docker compose -f "$repo/infra/docker-compose.yml")

# -- image ----------------------------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "building $GASTOWN_IMAGE (the first build compiles flash-attn when no wheel matches: up to an hour)"
  # shellcheck disable=SC2086  # DOCKER_BUILD_ARGS is a list of arguments
  docker build -f "$repo/infra/Dockerfile.train" -t "$GASTOWN_IMAGE" ${DOCKER_BUILD_ARGS:-} "$repo"
fi

say "checking the GPUs from inside the image"
docker run --rm --gpus all "$GASTOWN_IMAGE" python -c '
import torch
assert torch.cuda.is_available(), "torch sees no GPU in the container"
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"GPU {i}: {p.name}, {p.total_memory / 2**30:.0f} GiB, sm_{p.major}{p.minor}")
import flash_attn; print("flash-attn", flash_attn.__version__)'

# -- base model -------------------------------------------------------------------------------------
if [ "${SKIP_PREFETCH:-0}" != 1 ]; then
  say "fetching the gpu profile's base model into $GASTOWN_HOST_DATA_DIR/hf"
  docker run --rm -v "$GASTOWN_HOST_DATA_DIR:/data" -e HF_HOME=/data/hf -e HF_HUB_OFFLINE=0 -e HF_TOKEN \
    "$GASTOWN_IMAGE" python -c '
from pathlib import Path
from huggingface_hub import snapshot_download
from gastown_assets.training.base_model import resolve_base_model
model = resolve_base_model(Path("/opt/gastown/configs"), "gpu", Path("/data/gastown"))
print(model.name_or_path, "->", model.name_or_path if model.built else snapshot_download(model.name_or_path))'
fi

# -- services ---------------------------------------------------------------------------------------
say "starting Postgres and Dagster"
"${compose[@]}" up -d --remove-orphans --wait
"${compose[@]}" exec -T daemon dagster instance concurrency set gpu 1

cat <<EOF

Dagster UI: http://127.0.0.1:3000 on this machine (from your laptop: ssh -L 3000:127.0.0.1:3000 <this machine>)
Materialize a role from the UI (Assets -> Materialize, partition), or launch one from here:
  ${compose[*]} exec webserver dagster job launch -w /opt/dagster/dagster_home/workspace.yaml \\
    -j __ASSET_JOB --tags '{"dagster/partition": "polecat"}'
Outputs: $GASTOWN_HOST_DATA_DIR/gastown/{datasets,adapters,reports}/<role>/
Logs:    ${compose[*]} logs -f daemon
Stop:    ${compose[*]} down   (data, the HF cache and Postgres volumes stay)
EOF
