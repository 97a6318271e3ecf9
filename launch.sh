#!/usr/bin/env bash
# The one entry point, the same locally and in the container.
#   ./launch.sh          install if needed, then serve the WebUI
#   ./launch.sh test     install if needed (with the test extras), then run the test suite
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

VENV="${SVD_VENV:-.venv}"

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

case "${1:-serve}" in
  test)
    shift
    install requirements.txt requirements-test.txt
    install_chromium
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  serve)
    [[ $# -gt 0 ]] && shift
    install requirements.txt
    exec "$VENV/bin/python" webui.py "$@"
    ;;
  *)
    echo "usage: ./launch.sh [serve|test] [arguments...]" >&2
    exit 2
    ;;
esac
