"""The package as others install it: one namespace (`doorbell.*`) that a user's own `config.py`,
`motion.py` or `device/` cannot shadow, every package folder in the wheel, and a pytest plugin that
costs other projects' test sessions nothing until they use a fixture."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("device", "motion", "uplink", "config")


def declared_packages() -> set[str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return set(cfg["options"]["packages"].split())


def test_every_package_folder_is_in_the_wheel() -> None:
    # Every folder that holds code or data (not caches) is a package setuptools is told of.
    on_disk = {
        "doorbell." + ".".join(path.relative_to(ROOT).parts)
        for folder in FOLDERS
        for path in [ROOT / folder, *(ROOT / folder).rglob("*")]
        if path.is_dir() and path.name != "__pycache__"
    }
    assert declared_packages() == on_disk


def test_the_plugin_loads_nothing_of_the_runtime() -> None:
    # pytest imports the plugin into every session of an environment that has doorbell installed.
    code = (
        "import sys, json, pytest\n"
        "before = set(sys.modules)\n"
        "import doorbell.device.emulation.pytest_plugin\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert loaded == [
        "doorbell",
        "doorbell.device",
        "doorbell.device.emulation",
        "doorbell.device.emulation.pytest_plugin",
    ]


USER_CONFTEST_FREE_TESTS = """
import json

import paho.mqtt.client as mqtt
import pytest

import config  # the user's own modules, beside ours
import motion
from device import sensors


def test_my_own_modules_are_mine():
    assert config.MINE and motion.MINE and sensors.MINE


def test_my_alert_service_hears_a_visit(doorbell, mqtt_broker):
    heard = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda c, u, m: heard.append(json.loads(m.payload))
    client.connect("127.0.0.1", mqtt_broker.port)
    client.subscribe("doorbell/+/event", qos=1)
    client.loop_start()
    doorbell.visit()
    alert = doorbell.wait_for_event("motion", "start")
    doorbell.wait_for_event("motion", "end", timeout=60)
    client.disconnect()  # first: loop_stop alone waits out paho's 1 s network poll
    client.loop_stop()
    assert alert.id in [m["id"] for m in heard]


@pytest.mark.doorbell_scenario("walk_up_ring")
def test_a_scripted_visit_rings(doorbell):
    assert doorbell.wait_for_event("ring").type == "ring"


def test_the_button(doorbell):
    ring = doorbell.press()
    assert doorbell.wait_for_event("ring").id == ring
"""


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- example: doorbell -->\s*```python\n(.*?)```", readme, re.S)
    assert found, "README.md lost its example"
    return found.group(1)


def build_wheel(into: Path) -> Path:
    """The wheel pip would build, from a copy of the sources (a build leaves build/ behind)."""
    src = into / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in FOLDERS:
        shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "-w", str(into / "dist"), str(src)], check=True, capture_output=True)
    (wheel,) = (into / "dist").glob("doorbell-*.whl")
    return wheel


def fresh_venv(path: Path) -> Path:
    """A new venv whose only doorbell is the wheel; its dependencies are this environment's
    (linked, not installed again: the test is about our package, not about PyPI)."""
    venv.create(path, with_pip=True)
    deps = path / "deps"
    deps.mkdir()
    for item in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not re.match(r"(doorbell|__editable__|_doorbell|.*\.pth$)", item.name):
            (deps / item.name).symlink_to(item)
    (site,) = path.glob("lib/python*/site-packages")
    (site / "deps.pth").write_text(f"{deps}\n")
    return path / "bin" / "python"


@pytest.mark.venv
def test_installed_beside_a_project_with_its_own_config_motion_and_device(tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv")
    wheel = build_wheel(tmp_path / "build")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    project = tmp_path / "project"
    (project / "device").mkdir(parents=True)
    (project / "config.py").write_text("MINE = True\n")
    (project / "motion.py").write_text("MINE = True\n")
    (project / "device" / "__init__.py").write_text("")
    (project / "device" / "sensors.py").write_text("MINE = True\n")
    (project / "test_with_doorbells.py").write_text(USER_CONFTEST_FREE_TESTS)
    (project / "example.py").write_text(readme_example())
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(python), *args], cwd=project, env=env, capture_output=True, text=True, timeout=240
        )

    tests = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "test_with_doorbells.py")
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert "4 passed" in tests.stdout
    example = run("example.py")
    assert example.returncode == 0, example.stdout[-2000:] + example.stderr[-2000:]
    assert "motion alert" in example.stdout
