"""Small faults a new user met, each one line and an exit status, never a traceback: an
unwritable `--save-snapshots` folder, an audit log with a line that is not an entry, `--plot`
without matplotlib (refused before the analysis, not after it), `doorbell erase` asking a
running device's control socket whether it runs, and a fleet whose broker is down."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from doorbell.device.cli import cli
from doorbell.device.emulation.mosquitto import MosquittoBroker, free_port
from doorbell.device.runtime.control import ControlServer, send
from doorbell.device.runtime.erase import device_running
from tests.support.process import doorbell


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.mark.parametrize("folder", ["/proc/doorbell-snapshots", "/proc/version"])
def test_watch_to_a_folder_it_cannot_write_is_one_line(folder: str) -> None:
    code, output = invoke("watch", "--broker", "mqtt://127.0.0.1:9", "--save-snapshots", folder)
    assert code == 2
    assert len(output.strip().splitlines()) == 1 and "--save-snapshots" in output


def test_audit_list_with_a_line_that_is_not_json(tmp_path: Path) -> None:
    (tmp_path / "audit.jsonl").write_text('{"seq": 1, "kind": "requested"}\nnot json\n')
    code, output = invoke("audit", "list", "--data-dir", str(tmp_path))
    assert code == 1
    assert output.splitlines()[-1].startswith("audit log unreadable after 1 entries")


def test_audit_list_with_json_that_is_not_an_entry(tmp_path: Path) -> None:
    (tmp_path / "audit.jsonl").write_text('{"a": 1}\n[1, 2]\n"text"\n')
    code, output = invoke("audit", "list", "--data-dir", str(tmp_path))
    assert code == 0
    assert len(output.splitlines()) == 3 and "not an audit entry" in output


def test_plot_without_matplotlib_fails_before_the_analysis(tmp_path: Path) -> None:
    hidden = tmp_path / "site"
    (hidden / "matplotlib").mkdir(parents=True)
    (hidden / "matplotlib" / "__init__.py").write_text("raise ImportError('not installed')\n")
    out = tmp_path / "result.json"
    proc = doorbell(
        "analyze",
        "synthetic:ten_visits",  # ten minutes of video: analysed first, this would take a while
        "--json",
        str(out),
        "--plot",
        str(tmp_path / "plot.png"),
        env={"PYTHONPATH": os.pathsep.join([str(hidden), *sys.path])},
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == "doorbell: --plot needs matplotlib: pip install 'doorbell[plot]'"
    assert not out.exists()  # nothing was analysed


def test_a_probe_of_the_control_socket_leaves_nothing_in_the_log(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    server = ControlServer(tmp_path / "control.sock", lambda request: {"ok": True})
    server.start()
    try:
        assert device_running(tmp_path)  # connects and hangs up, as `doorbell erase` does
        assert send(tmp_path / "control.sock", {"command": "ping"}) == {"ok": True}
    finally:
        server.stop()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_a_fleet_with_the_broker_down_ends_within_its_duration_and_connect_timeout(
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    proc = doorbell(
        "fleet",
        "--devices",
        "5",
        "--duration",
        "5",
        "--connect-timeout",
        "3",
        "--broker",
        f"mqtt://127.0.0.1:{free_port()}",  # nothing listens there
        "--data-dir",
        str(tmp_path),
        timeout=120,
    )
    took = time.monotonic() - began
    assert proc.returncode == 1, proc.stderr
    assert "5 device(s) could not connect" in proc.stdout
    # 5 + 3 s, and what starting Python and rendering the scene take (it was 79 s)
    assert took < 5 + 3 + 6, took


def test_the_page_s_port_taken_the_device_runs_on_without_it(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    # docs/web.md, "A port that is taken": the device stops only for what it cannot alert without
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = doorbell(
            "run",
            "--data-dir",
            str(tmp_path / "data"),
            "--broker",
            mosquitto.url,
            "--camera",
            "synthetic:walk_up_ring",
            "--speed",
            "max",
            "--duration",
            "30",
            "--set",
            f"web.listen=127.0.0.1:{port}",
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr
    assert f"the local page cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "ALERT motion" in proc.stdout and "broker " + mosquitto.url + " connected" in (
        proc.stdout + proc.stderr
    )
