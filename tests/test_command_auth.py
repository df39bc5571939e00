"""The owner's signature on MQTT commands: who, for which device, when, and only once."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from doorbell.config.uplink import CommandsConfig
from doorbell.uplink.command_auth import CommandGate, CommandRefused, signed_command
from doorbell.uplink.rate_limit import RateLimit
from doorbell.uplink.replay_guard import ReplayGuard
from doorbell.uplink.requests.signing import public_key_b64, sign_body

NOW = 1_790_000_000.0


@pytest.fixture
def owner() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def gate(tmp_path: Path, owner: Ed25519PrivateKey, **config: object) -> CommandGate:
    cfg = CommandsConfig.model_validate({"owner_keys": [public_key_b64(owner)], **config})
    return CommandGate("porch", cfg, ReplayGuard(tmp_path / "replay.sqlite"), lambda: NOW)


def test_signed_command_is_taken_once(tmp_path: Path, owner: Ed25519PrivateKey) -> None:
    g = gate(tmp_path, owner)
    body = signed_command("mode", {"request_id": "r1", "mode": "home"}, "porch", owner, NOW)
    taken = g.check("mode", body)
    assert taken.body == {"request_id": "r1", "mode": "home"}
    assert taken.signer != "unsigned"
    with pytest.raises(CommandRefused, match="replayed"):
        g.check("mode", body)


def test_replay_is_refused_after_a_restart(tmp_path: Path, owner: Ed25519PrivateKey) -> None:
    body = signed_command("mode", {"request_id": "r1", "mode": "home"}, "porch", owner, NOW)
    gate(tmp_path, owner).check("mode", body)
    with pytest.raises(CommandRefused, match="replayed"):
        gate(tmp_path, owner).check("mode", body)  # a new process on the same data dir


def test_unsigned_and_strangers_are_refused(tmp_path: Path, owner: Ed25519PrivateKey) -> None:
    g = gate(tmp_path, owner)
    with pytest.raises(CommandRefused, match="unsigned"):
        g.check("mode", {"request_id": "x", "mode": "disarmed"})
    stranger = Ed25519PrivateKey.generate()
    forged = signed_command("mode", {"request_id": "x", "mode": "disarmed"}, "porch", stranger, NOW)
    with pytest.raises(CommandRefused, match="signature"):
        g.check("mode", forged)
    tampered = signed_command("mode", {"request_id": "x", "mode": "home"}, "porch", owner, NOW)
    tampered["mode"] = "disarmed"
    with pytest.raises(CommandRefused, match="signature"):
        g.check("mode", tampered)


def test_signed_for_another_device_or_time(tmp_path: Path, owner: Ed25519PrivateKey) -> None:
    g = gate(tmp_path, owner)
    with pytest.raises(CommandRefused, match="another device"):
        g.check(
            "mode",
            signed_command("mode", {"request_id": "x", "mode": "away"}, "garage", owner, NOW),
        )
    stale = signed_command("mode", {"request_id": "x", "mode": "away"}, "porch", owner, NOW - 301)
    with pytest.raises(CommandRefused, match="window"):
        g.check("mode", stale)
    future = signed_command("mode", {"request_id": "x", "mode": "away"}, "porch", owner, NOW + 301)
    with pytest.raises(CommandRefused, match="window"):
        g.check("mode", future)


def test_retained_commands_are_ignored_even_when_signed(
    tmp_path: Path, owner: Ed25519PrivateKey
) -> None:
    body = signed_command("mode", {"request_id": "r1", "mode": "home"}, "porch", owner, NOW)
    with pytest.raises(CommandRefused, match="retained"):
        gate(tmp_path, owner).check("mode", body, retained=True)


def test_signature_binds_the_command_it_authorises(
    tmp_path: Path, owner: Ed25519PrivateKey
) -> None:
    g = gate(tmp_path, owner)
    ping = signed_command("ping", {"request_id": "p1"}, "porch", owner, NOW)
    with pytest.raises(CommandRefused, match="signed for 'ping', not for 'snapshot'"):
        g.check("snapshot", ping)  # an owner's ping published on cmd/snapshot
    assert g.check("ping", ping).body == {"request_id": "p1"}
    # A body signed without naming a command (the form before binding) authorises nothing.
    unnamed = sign_body(
        {
            k: v
            for k, v in signed_command("ping", {"request_id": "p2"}, "porch", owner, NOW).items()
            if k != "command"
        },
        owner,
    )
    with pytest.raises(CommandRefused, match="signed for nothing"):
        g.check("ping", unnamed)


@pytest.mark.parametrize("nonce", ["", "x" * 15, "x" * 129, 1234567890123456])
def test_nonce_must_be_16_to_128_characters(
    tmp_path: Path, owner: Ed25519PrivateKey, nonce: object
) -> None:
    body = signed_command("ping", {"request_id": "p1"}, "porch", owner, NOW)
    with pytest.raises(CommandRefused, match="nonce must be"):
        gate(tmp_path, owner).check("ping", sign_body({**body, "nonce": nonce}, owner))
    for fine in ("x" * 16, "y" * 128):
        gate(tmp_path, owner).check("ping", sign_body({**body, "nonce": fine}, owner))


def test_unsigned_list_is_explicit(tmp_path: Path, owner: Ed25519PrivateKey) -> None:
    g = gate(tmp_path, owner, unsigned=["snapshot"])
    assert g.check("snapshot", {"request_id": "s"}).signer == "unsigned"
    with pytest.raises(CommandRefused, match="unsigned"):
        g.check("mode", {"request_id": "x", "mode": "disarmed"})


def test_no_owner_key_means_no_signed_command(tmp_path: Path, owner: Ed25519PrivateKey) -> None:
    cfg = CommandsConfig()
    g = CommandGate("porch", cfg, ReplayGuard(tmp_path / "n.sqlite"), lambda: NOW)
    body = signed_command("mode", {"request_id": "r1", "mode": "home"}, "porch", owner, NOW)
    with pytest.raises(CommandRefused, match="no owner key"):
        g.check("mode", body)


def test_rate_limit_is_per_name_and_refills() -> None:
    now = [0.0]
    limit = RateLimit(per_minute=3, clock=lambda: now[0])
    assert [limit.allow("footage_request") for _ in range(5)] == [True] * 3 + [False] * 2
    assert limit.allow("mode")  # a flood on one topic leaves the others open
    assert limit.dropped == 2
    now[0] = 20.0  # one token back every 20 s
    assert limit.allow("footage_request")
    assert not limit.allow("footage_request")
