"""`doorbell service install`: a hardened systemd unit with a watchdog."""

from __future__ import annotations

import os
import pwd
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
# No Group=: the user's own primary group (a group named like the user may not exist:
# `nobody` is in `nogroup` on Debian).
User={user}
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
ProtectHome={protect_home}
{writable}PrivateTmp=true
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


DEFAULT_DATA_DIR = Path("/var/lib/doorbell")  # StateDirectory=doorbell: writable as it is
HOMES = (Path("/home"), Path("/root"), Path("/run/user"))


def render_unit(exe: str, config: Path, data_dir: Path, user: str, watchdog: int) -> str:
    """The unit; a data dir other than the state directory is made writable by name
    (ProtectSystem=strict leaves every other path read-only), and one under a home directory
    needs ProtectHome=read-only (`true` would hide it)."""
    writable = "" if data_dir == DEFAULT_DATA_DIR else f"ReadWritePaths={data_dir}\n"
    home = any(data_dir == h or h in data_dir.parents for h in HOMES)
    return UNIT.format(
        exe=exe,
        config=config,
        data_dir=data_dir,
        user=user,
        watchdog=watchdog,
        writable=writable,
        protect_home="read-only" if home else "true",
    )


def _user_exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def _prepare_data_dir(data_dir: Path, user: str) -> None:
    """ReadWritePaths= needs the folder to exist (the service could not make it under a
    read-only /); made here, 0700 and the service user's, when we may."""
    if data_dir == DEFAULT_DATA_DIR or data_dir.exists() or os.geteuid() != 0:
        return
    try:
        data_dir.mkdir(mode=0o700, parents=True)
        entry = pwd.getpwnam(user)
        os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    except (OSError, KeyError) as exc:
        fail(f"--data-dir {data_dir}: cannot make it for {user}: {exc}")


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
    if not create_user and not _user_exists(user):
        fail(f"--user {user}: no such user (create it, or leave out --no-create-user)")
    if not data_dir.is_absolute():
        fail(f"--data-dir {data_dir}: give an absolute path (systemd needs one)")
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
    _prepare_data_dir(data_dir, user)
    click.echo("next: systemctl daemon-reload && systemctl enable --now doorbell")
