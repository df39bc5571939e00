"""No compiling on a Pi: tools/check_aarch64_wheels against PyPI's metadata (nothing is built).

Each release's constraints must resolve to aarch64 wheels for that release's CPython and glibc;
a requirement that has no such wheel must be reported, not silently built from source.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.registry

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "tools" / "check_aarch64_wheels"
RUNTIME = {"numpy", "opencv_python_headless", "av", "pydantic_core", "cryptography", "pyrage"}
RUNTIME |= {"onnxruntime"}  # the face model's runtime (redaction of shared footage)


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), "--json", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_every_runtime_dependency_has_an_aarch64_wheel(release: str) -> None:
    done = run_check("--target", release)
    rows = json.loads(done.stdout)
    assert done.returncode == 0, rows
    [row] = rows
    names = {wheel.split("-")[0].lower() for wheel in row["wheels"]}
    assert names >= RUNTIME, row
    compiled = [w for w in row["wheels"] if not w.endswith("-any.whl")]
    assert compiled and all("aarch64" in w for w in compiled), row
    pinned = (ROOT / "constraints" / f"{release}.txt").read_text()
    numpy = next(w for w in row["wheels"] if w.startswith("numpy-"))
    assert f"numpy=={numpy.split('-')[1]}" in pinned  # the OS's numpy, not a newer one


def test_a_dependency_without_an_aarch64_wheel_is_reported(tmp_path: Path) -> None:
    # numpy 1.24.2 predates CPython 3.13: no cp313 wheel exists, so only a source build could
    # satisfy it, which is exactly what a Pi must never do.
    constraints = tmp_path / "old-numpy.txt"
    constraints.write_text("numpy==1.24.2\n")
    done = run_check("--constraints", str(constraints), "--python", "3.13", "--glibc", "2_41")
    rows = json.loads(done.stdout)
    assert done.returncode == 1, rows
    assert not rows[0]["ok"] and "numpy" in rows[0]["error"], rows


def test_unknown_target_is_one_line_and_exit_2() -> None:
    done = run_check("--target", "buster")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["check_aarch64_wheels: unknown target 'buster'"]
