"""`doorbell service install`: a hardened systemd unit with a watchdog."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import click

from doorbell.device.cli.options import fail

UNIT = """\
[Unit]
Description=doorbell video doorbell
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=main
ExecStart={exe} run --config {config} --data-dir {data_dir}
ExecReload=/bin/kill -HUP $MAINPID
User={user}
Group={user}
SupplementaryGroups=video gpio
Restart=on-failure
RestartSec=5
WatchdogSec={watchdog}
TimeoutStopSec=30
StateDirectory=doorbell
# Private storage: the data dir 0700 and every file the device writes 0600.
StateDirectoryMode=0700
UMask=0077
ConfigurationDirectory=doorbell
# Hardening: the device needs its data dir, the camera and the network, nothing else.
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectKernelLogs=true
ProtectControlGroups=true
ProtectClock=true
ProtectHostname=true
RestrictSUIDSGID=true
RestrictRealtime=true
RestrictNamespaces=true
LockPersonality=true
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native
CapabilityBoundingSet=
MemoryMax=300M

[Install]
WantedBy=multi-user.target
"""


def render_unit(exe: str, config: Path, data_dir: Path, user: str, watchdog: int) -> str:
    return UNIT.format(exe=exe, config=config, data_dir=data_dir, user=user, watchdog=watchdog)


@click.group("service")
def service() -> None:
    """Run the device under systemd."""


@service.command("install")
@click.option("--user", default="doorbell", show_default=True, help="Dedicated system user.")
@click.option(
    "--unit-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/etc/systemd/system"),
    show_default=True,
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=Path("/etc/doorbell/doorbell.yaml"),
    show_default=True,
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path("/var/lib/doorbell"),
    show_default=True,
)
@click.option("--watchdog", type=click.IntRange(5, 3600), default=30, show_default=True)
@click.option("--create-user/--no-create-user", default=True, help="useradd --system if missing.")
def install(
    user: str, unit_dir: Path, config_path: Path, data_dir: Path, watchdog: int, create_user: bool
) -> None:
    """Write doorbell.service (Type=notify, WatchdogSec, Restart=on-failure, hardened)."""
    beside = Path(sys.executable).with_name("doorbell")  # the venv's console script
    fallback = shutil.which("doorbell") or f"{sys.executable} -m doorbell.device"
    exe = str(beside) if beside.exists() else fallback
    unit = render_unit(exe, config_path, data_dir, user, watchdog)
    try:
        unit_dir.mkdir(parents=True, exist_ok=True)
        (unit_dir / "doorbell.service").write_text(unit)
    except OSError as exc:
        fail(f"cannot write {unit_dir}/doorbell.service: {exc} (run as root?)")
    click.echo(f"wrote {unit_dir / 'doorbell.service'}")
    if (
        create_user
        and shutil.which("useradd")
        and subprocess.run(["id", user], capture_output=True, check=False).returncode != 0
    ):
        done = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
            capture_output=True,
            text=True,
            check=False,
        )
        click.echo(f"created system user {user}" if done.returncode == 0 else done.stderr.strip())
    click.echo("next: systemctl daemon-reload && systemctl enable --now doorbell")
