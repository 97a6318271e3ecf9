#!/usr/bin/env bash
# The one entry point, the same on a laptop and in the container.
#   ./launch.sh [serve] [webui options]   install if needed, then serve the WebUI (the default)
#   ./launch.sh test [pytest options]     install with the test extras if needed, then run the test suite
#   ./launch.sh health                    exit 0 if the WebUI on $PORT answers (the container's health check)
#   ./launch.sh image-check [pytest options]  build the Docker image and check it running (tests/image)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

VENV="${SVD_VENV:-.venv}"
MIN_FREE_GB=10

log() { echo "[launch] $*" >&2; }

# Create the virtual environment and install each requirements file whose content changed since it was installed.
install() {
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
  fi
  local file stamp wanted
  for file in "$@"; do
    stamp="$VENV/.installed-$(basename "$file")"
    wanted="$(sha256sum "$file" | cut -d' ' -f1)"
    if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]]; then
      log "installing $file"
      "$VENV/bin/python" -m pip install --disable-pip-version-check -r "$file"
      echo "$wanted" >"$stamp"
    fi
  done
}

# The interpreter: a prepared one (SVD_PYTHON, set in the Docker image), else .venv, installed if needed.
python_for() {
  if [[ -n "${SVD_PYTHON:-}" ]]; then
    PYTHON="$SVD_PYTHON"
  else
    install "$@"
    PYTHON="$VENV/bin/python"
  fi
}

# The browser tests drive Debian's chromium (Playwright's own browser download is not used).
install_chromium() {
  [[ -x /usr/bin/chromium ]] && return
  local sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      log "warning: Debian's chromium is missing and installing it needs root; the browser tests will fail"
      return
    fi
  fi
  log "installing Debian's chromium for the browser tests"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

# The image check's tools: a container engine, and mmdebstrap for a stand-in base where the CUDA base cannot be
# pulled. As root on Debian the missing ones are installed; otherwise one line says what is needed.
install_container_tools() {
  local missing=()
  if ! command -v podman >/dev/null && ! { command -v docker >/dev/null && docker info >/dev/null 2>&1; }; then
    missing+=(podman runc)
  fi
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  ((${#missing[@]})) || return 0
  if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null; then
    [[ " ${missing[*]} " == *" podman "* ]] || return 0  # without mmdebstrap, only a pullable base works
    echo "error: the image check needs a container engine: install podman (or docker with BuildKit and a running daemon), or run this as root on Debian to have podman installed" >&2
    exit 2
  fi
  log "installing ${missing[*]} from Debian for the image check"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

writable() { mkdir -p "$1" 2>/dev/null && [[ -w "$1" ]]; }

# The nearest folder of a path that exists (df needs one).
existing() {
  local path="$1"
  until [[ -d "$path" ]]; do path="$(dirname "$path")"; done
  echo "$path"
}

# Weights, outputs and local models live in one data folder, so they survive container restarts:
# SVD_DATA_DIR, else the marketplace volume (SVD_VOLUME, /workspace by default) if there is one, else ./data.
# A data folder that cannot be written is said here and on the page (videos cannot be saved), and the app still
# serves: a model already there loads, and a restart would not fix the volume.
choose_data_dir() {
  local volume="${SVD_VOLUME:-/workspace}"
  if [[ -n "${SVD_DATA_DIR:-}" ]]; then
    DATA="$SVD_DATA_DIR"
  elif [[ -d "$volume" ]]; then
    DATA="$volume/svd"
  else
    DATA="$PWD/data"
  fi
  if writable "$DATA"; then  # torch.compile's kernels on the volume, for the next start (torch makes the folder on import)
    export TRITON_CACHE_DIR="${TRITON_CACHE_DIR:-$DATA/cache/triton}"
    export TORCHINDUCTOR_CACHE_DIR="${TORCHINDUCTOR_CACHE_DIR:-$DATA/cache/inductor}"
  else
    log "error: the data folder $DATA cannot be written by uid $(id -u) (read-only, or owned by another user): videos cannot be saved; mount a writable volume at $volume or set SVD_DATA_DIR"
  fi
  export HF_HOME="${HF_HOME:-$DATA/huggingface}"
  export SVD_OUTPUT_DIR="${SVD_OUTPUT_DIR:-$DATA/outputs}"
  export SVD_MODELS_DIR="${SVD_MODELS_DIR:-$DATA/models}"
  export SVD_LORAS_DIR="${SVD_LORAS_DIR:-$DATA/loras}"
  export SVD_STYLES_FILE="${SVD_STYLES_FILE:-$DATA/styles.json}"
  export SVD_QUOTA_DB="${SVD_QUOTA_DB:-$DATA/quota.sqlite}"
  export GRADIO_ANALYTICS_ENABLED="${GRADIO_ANALYTICS_ENABLED:-False}"
  mkdir -p "$HF_HOME" "$SVD_OUTPUT_DIR" "$SVD_MODELS_DIR" "$SVD_LORAS_DIR" 2>/dev/null || true
  local free_gb
  free_gb="$(df -Pk "$(existing "$DATA")" | awk 'NR == 2 {print int($4 / 1048576)}')"
  log "data in $DATA (${free_gb} GB free): weights in $HF_HOME, videos in $SVD_OUTPUT_DIR"
  if ((free_gb < MIN_FREE_GB)); then
    log "warning: less than $MIN_FREE_GB GB free in $DATA; a model download needs about 5 GB per model"
  fi
}

describe_gpus() {
  if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader |
      while IFS= read -r gpu; do log "GPU $gpu"; done
  else
    log "warning: no NVIDIA GPU found; serving on the CPU, where one video takes many minutes"
  fi
}

case "${1:-serve}" in
  test)
    shift
    python_for requirements.txt requirements-test.txt requirements-ray.txt
    install_chromium
    exec "$PYTHON" -m pytest "$@"
    ;;
  image-check)
    shift
    install_container_tools
    python_for requirements.txt requirements-test.txt
    install_chromium
    exec "$PYTHON" -m pytest tests/image "$@"
    ;;
  health)
    python_for requirements.txt
    exec "$PYTHON" -c 'import os, sys, urllib.request
port = os.environ.get("PORT") or os.environ.get("GRADIO_SERVER_PORT") or "7860"
try:
    urllib.request.urlopen("http://127.0.0.1:" + port + "/healthz", timeout=5)
except OSError as error:
    sys.exit(f"unhealthy: nothing answers on port {port} ({error})")'
    ;;
  serve | -*)
    [[ "${1:-}" == serve ]] && shift
    python_for requirements.txt
    choose_data_dir
    describe_gpus
    exec "$PYTHON" webui.py "$@"
    ;;
  *)
    echo "usage: ./launch.sh [serve|test|image-check|health] [arguments...]" >&2
    exit 2
    ;;
esac
