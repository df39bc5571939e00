"""A device without the local page does not load the page's libraries.

aiohttp, Jinja2 and what they pull in cost ~14 MB of RSS (README's memory budget: <= 150 MB at
720p); the device imports device/web/server.py only when web.listen is set. Checked in a fresh
interpreter, since this test process has imported the page already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE_ONLY = ("aiohttp", "jinja2", "device.web.server")


def loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [name for name in json.loads(out.stdout) if name in PAGE_ONLY]


def test_the_cli_and_runtime_load_without_the_page_libraries() -> None:
    assert loaded_after("import device.cli, device.runtime") == []


def test_the_page_libraries_load_when_the_page_is_built() -> None:
    # The other side, so the probe above is known to see these modules when they are loaded.
    assert loaded_after("import device.web.server") == sorted(PAGE_ONLY)
