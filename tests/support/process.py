"""Running the real `doorbell` command as a child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def doorbell(
    *args: str, timeout: float = 180, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `doorbell ARGS...` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "doorbell.device", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


class DoorbellProcess:
    """`doorbell run ...` in the background, with its output captured to files."""

    def __init__(self, workdir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = workdir / "stdout.txt"
        self.stderr_path = workdir / "stderr.txt"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "doorbell.device", "run", *args],
            stdout=self.stdout_path.open("w"),
            stderr=self.stderr_path.open("w"),
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_for(self, path: Path, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"doorbell exited early: {self.stderr}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} did not appear: {self.stderr}")
            time.sleep(0.05)

    def wait_output(self, needle: str, timeout: float = 30.0, stream: str = "stderr") -> None:
        deadline = time.monotonic() + timeout
        while needle not in (self.stderr if stream == "stderr" else self.stdout):
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not seen: {self.stderr[-3000:]}")
            time.sleep(0.05)

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 60.0) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
