"""A device without the local page does not load the page's libraries, nor what only other
commands or the embedded broker need.

aiohttp, Jinja2 and what they pull in cost ~14 MB of RSS (README's memory budget: <= 120 MB at
768x576, <= 150 MB at 720p); the device imports device/web/server.py only when web.listen is set.
The other commands' modules (the fleet, the scenario renderer, the page's password hashing) load
only when that command runs, asyncio (~5 MB) only for the embedded broker, and the tar writer
and the typo suggester (~0.5 MB) only when a share is packed or a wrong key is named, and
onnxruntime only when a share fills faces. Checked in
a fresh interpreter, since this test process has imported all of them already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE_ONLY = ("aiohttp", "jinja2", "doorbell.device.web.server")
NOT_FOR_RUN = (
    *PAGE_ONLY,
    "argon2",
    "asyncio",
    "doorbell.device.cli.fleet_cmd",
    "doorbell.device.emulation.fleet",
)
NOT_FOR_RUN += (
    "doorbell.device.cli.scenario",
    "doorbell.device.cli.web_cmd",
    "doorbell.device.emulation.camera",
)
NOT_FOR_RUN += ("tarfile", "difflib")
NOT_FOR_RUN += ("onnxruntime",)  # the face model's runtime (~30 MB): only when a share redacts


def loaded_after(code: str, names: tuple[str, ...] = PAGE_ONLY) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [name for name in json.loads(out.stdout) if name in names]


def test_the_cli_and_runtime_load_without_the_page_libraries() -> None:
    assert loaded_after("import doorbell.device.cli, doorbell.device.runtime.device") == []


def test_doorbell_run_loads_only_what_running_needs() -> None:
    code = "from doorbell.device.cli import cli\ncli.get_command(None, 'run')\n"
    code += "import doorbell.device.runtime.device"
    assert loaded_after(code, NOT_FOR_RUN) == []


def test_every_command_is_still_there() -> None:
    # The commands load lazily; `doorbell -h` lists them all, and each one can be loaded.
    from doorbell.device.cli import COMMANDS, cli

    for name in COMMANDS:
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name == name


def test_the_page_libraries_load_when_the_page_is_built() -> None:
    # The other side, so the probe above is known to see these modules when they are loaded.
    assert loaded_after("import doorbell.device.web.server") == sorted(PAGE_ONLY)
