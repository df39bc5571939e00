#!/usr/bin/env bash
# One entry point for people and CI on a fresh Debian 12 / Raspberry Pi OS machine.
#   ./dev.sh run [doorbell run flags...]   install into .venv, start the device on embedded defaults
#   ./dev.sh test [pytest args...]         install into .venv (+ mosquitto), lint, type-check, test
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "dev.sh: need root to run: $*" >&2; return 1; fi; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing Debian packages: ${missing[*]}" >&2
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

is_pi() { grep -qs "Raspberry Pi" /proc/device-tree/model; }

bootstrap() {  # $1 = extras, e.g. "demo" or "dev,demo"
  if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then apt_install python3-venv; fi
  if [ ! -x "$VENV/bin/python" ]; then
    # On a Pi, picamera2 comes from Debian (python3-picamera2), so the venv must see system packages.
    if is_pi; then python3 -m venv --system-site-packages "$VENV"; else python3 -m venv "$VENV"; fi
  fi
  local extras="$1"; is_pi && extras="$extras,pi"
  local stamp="$VENV/.installed-$extras"
  if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ]; then
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e ".[$extras]"
    touch "$stamp"
  fi
}

cmd="${1:-}"; shift || true
case "$cmd" in
  run)
    bootstrap demo
    exec "$VENV/bin/doorbell" run "$@" ;;
  test)
    apt_install mosquitto age chromium  # chromium: the page's browser tests (Playwright drives it)
    bootstrap dev,demo
    "$VENV/bin/ruff" check device motion uplink config tests benchmarks
    "$VENV/bin/ruff" format --check device motion uplink config tests benchmarks
    "$VENV/bin/mypy" device motion uplink config
    exec "$VENV/bin/pytest" "$@" ;;
  *)
    echo "usage: ./dev.sh run [doorbell run flags] | ./dev.sh test [pytest args]" >&2; exit 2 ;;
esac
