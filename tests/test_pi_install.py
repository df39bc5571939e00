"""The Raspberry Pi install path keeps the OS's numpy, so the OS's compiled modules still import.

On Raspberry Pi OS, python3-picamera2's simplejpeg is compiled against the OS's numpy; a venv with
system site packages that pip-installs numpy 2 breaks it. Debian here has the same situation with
python3-opencv (4.6, compiled against python3-numpy). This builds the venv exactly as `dev.sh`
does on a Pi (`DOORBELL_PI_PATH=<release> ./dev.sh install`: the OS's python3, system site
packages, constraints/<release>.txt) and imports Debian's compiled cv2 together with the project.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.venv

ROOT = Path(__file__).resolve().parent.parent
OS_PYTHON = Path("/usr/bin/python3")
HOPPER = ROOT / "tests" / "data" / "faces" / "grace_hopper.jpg"  # a real face (public domain)


def os_release() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.partition("=")[2].strip().strip('"')
    return ""


def os_compiled_cv2() -> Path | None:
    """Debian's python3-opencv extension module, compiled against Debian's python3-numpy."""
    found = subprocess.run(
        [str(OS_PYTHON), "-c", "import cv2; print(cv2.__file__)"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    path = Path(found.stdout.strip()) if found.returncode == 0 else None
    return path if path is not None and path.suffix == ".so" else None


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without its own venv, so the Pi venv sees only its own."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = ":".join(
        p for p in env.get("PATH", "").split(":") if "/.venv" not in p and "pyenv" not in p
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def pi_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    release = os_release()
    cv2_so = os_compiled_cv2() if OS_PYTHON.exists() else None
    missing = []
    if not (ROOT / "constraints" / f"{release}.txt").is_file():
        missing.append(f"constraints for this OS ({release or 'unknown'})")
    if cv2_so is None:
        missing.append("Debian's python3 with python3-opencv and python3-numpy")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"missing on CI: {', '.join(missing)} (./dev.sh test installs them)")
        pytest.skip(f"missing: {', '.join(missing)}")
    assert cv2_so is not None
    venv = tmp_path_factory.mktemp("pi-venv") / "venv"
    done = subprocess.run(
        [str(ROOT / "dev.sh"), "install"],
        env=clean_env(DOORBELL_PI_PATH=release, DOORBELL_VENV=str(venv)),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    yield venv, cv2_so


# Runs in the Pi venv: the OS's compiled cv2 (loaded from its own file, since the venv's
# opencv-python-headless shadows the name) and the project, in one interpreter.
TOGETHER = """
import importlib.util, json, sys
import numpy
spec = importlib.util.spec_from_file_location("cv2", sys.argv[1])
os_cv2 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(os_cv2)
sys.modules.pop("cv2", None)
gray = os_cv2.cvtColor(numpy.full((48, 64, 3), 200, numpy.uint8), os_cv2.COLOR_BGR2GRAY)
import cv2, doorbell.device, doorbell.motion.detector
from doorbell.device.cli import cli
cli(["analyze", "synthetic:walk_up_ring", "--duration", "8", "--json", sys.argv[2]],
    standalone_mode=False)
report = json.load(open(sys.argv[2]))
# the face model dev.sh installed, on onnxruntime beside the OS's numpy, finds a real face
from doorbell.uplink.requests.face_model import FaceDetector
hopper = cv2.imread(sys.argv[3])[:, :, ::-1]
faces = len(FaceDetector().detect(numpy.ascontiguousarray(hopper)))
print(json.dumps({
    "faces": faces,
    "numpy": numpy.__version__, "numpy_file": numpy.__file__,
    "os_cv2": os_cv2.__version__, "os_cv2_mean": float(gray.mean()),
    "cv2": cv2.__version__, "cv2_file": cv2.__file__,
    "frames": report["frames"], "events": len(report["events"]),
}))
"""


def test_os_compiled_module_and_project_import_together(
    pi_venv: tuple[Path, Path], tmp_path: Path
) -> None:
    venv, cv2_so = pi_venv
    out = tmp_path / "analyze.json"
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", TOGETHER, str(cv2_so), str(out), str(HOPPER)],
        env=clean_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # The venv uses the OS's numpy, not a newer copy of its own.
    assert seen["numpy_file"].startswith("/usr/lib/python3/dist-packages/"), seen
    assert seen["os_cv2_mean"] == 200.0
    assert seen["cv2_file"].startswith(str(venv)), seen  # the project's OpenCV is the wheel
    assert seen["frames"] == 120 and seen["events"] >= 1, seen
    assert seen["faces"] == 1, seen


def test_venv_holds_no_numpy_of_its_own(pi_venv: tuple[Path, Path]) -> None:
    venv, _ = pi_venv
    own = list((venv / "lib").glob("python3*/site-packages/numpy"))
    assert own == [], f"the Pi venv installed its own numpy: {own}"


def test_dev_sh_refuses_a_release_whose_numpy_is_not_the_os_one(tmp_path: Path) -> None:
    """The other release's pin differs from this OS's numpy: dev.sh says so in one line, exit 2,
    before creating anything."""
    here = os_release()
    other = {"bookworm": "trixie", "trixie": "bookworm"}.get(here)
    if other is None or not OS_PYTHON.exists():
        pytest.skip(f"not a Debian release with constraints here ({here or 'unknown'})")
    venv = tmp_path / "venv"
    done = subprocess.run(
        [str(ROOT / "dev.sh"), "--pi-path", other, "install"],
        env=clean_env(DOORBELL_VENV=str(venv)),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "would shadow the OS's numpy" in lines[0], done.stderr
    assert not venv.exists()


def test_dev_sh_rejects_an_unknown_release(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(ROOT / "dev.sh"), "--pi-path", "buster", "install"],
        env=clean_env(DOORBELL_VENV=str(tmp_path / "venv")),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("dev.sh: no constraints/buster.txt"), done.stderr
