"""A signer in another language: an owner command and a footage request signed in JavaScript
(RFC 8785 from npm's `canonicalize`, Ed25519 from Node's crypto) are taken by the device.

The device's rule (docs/privacy.md, canonical serialisation) must be one another language can
follow from its description; this signs with code that shares nothing with ours. The npm package
is installed into a temporary folder by the test itself. Without node or npm the test is skipped
on a developer's machine and fails on CI, where both are part of the set-up.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from doorbell.config.uplink import CommandsConfig
from doorbell.uplink.command_auth import CommandGate
from doorbell.uplink.command_models import MotionCommand, parse_command
from doorbell.uplink.replay_guard import ReplayGuard
from doorbell.uplink.requests.signing import public_key_b64
from tests.support.footage import T0, DeviceFactory, iso, request_body, write_footage

SIGNER_JS = Path(__file__).parent / "support" / "jcs_signer.js"
CANONICALIZE = "canonicalize@2.1.0"  # the reference JCS implementation's author's package


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what}: CI must have node and npm (apt-get install nodejs npm)")
    pytest.skip(f"{what}: the cross-language signing test needs node and npm")


@pytest.fixture(scope="module")
def node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _missing("node or npm not found")
    folder = tmp_path_factory.mktemp("npm")
    done = subprocess.run(
        [str(npm), "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(folder)]
        + [CANONICALIZE],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if done.returncode != 0:
        _missing(f"npm install {CANONICALIZE} failed: {done.stderr.strip()[-300:]}")
    return folder / "node_modules"


def js_sign(node_modules: Path, key: Ed25519PrivateKey, body: dict[str, Any]) -> bytes:
    """The body signed by the JavaScript signer, as the bytes it would publish."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    done = subprocess.run(
        ["node", str(SIGNER_JS)],
        input=json.dumps({"pem": pem, "body": body}),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NODE_PATH": str(node_modules)},
        check=True,
    )
    return done.stdout.encode()


def test_owner_command_signed_in_javascript_is_taken(node_modules: Path, tmp_path: Path) -> None:
    owner = Ed25519PrivateKey.generate()
    config = CommandsConfig.model_validate({"owner_keys": [public_key_b64(owner)]})
    gate = CommandGate("porch", config, ReplayGuard(tmp_path / "replay.sqlite"), lambda: T0)
    # Numbers where JCS and a naive sort_keys dump part ways: 2.0 is "2", 1e-05 is "0.00001".
    body = {
        "request_id": "js-1",
        "min_area": 0.00001,
        "event_gap": 2.0,
        "threshold": 30,
        "command": "motion",
        "device_id": "porch",
        "issued_at": iso(T0),
        "nonce": "nonce-from-javascript-0001",
    }
    payload = js_sign(node_modules, owner, body)
    parsed = parse_command("motion", payload, authorise=gate.authorise)
    assert parsed.by.startswith("owner-key:")
    assert isinstance(parsed.body, MotionCommand) and parsed.body.threshold == 30
    # The same bytes on another command's topic authorise nothing there.
    with pytest.raises(Exception, match="signed for 'motion', not for 'mode'"):
        parse_command("mode", payload, authorise=gate.authorise)


def test_footage_request_signed_in_javascript_is_taken(node_modules: Path, tmp_path: Path) -> None:
    factory = DeviceFactory(tmp_path, write_footage(tmp_path / "footage"))
    try:
        device = factory(policy="review")
        body = request_body(
            "js-req-1",
            T0 - 3600,
            T0 - 600,
            T0 + 3600,
            "http://127.0.0.1:9/{name}",
            audience=device.config.device.id,
            # non-ASCII text, written as itself, and keys JCS orders by UTF-16 code units
            reason="Einbruch in der Straße, Tür aufgebrochen 🚪",
            requester={"kind": "police", "name": "Polizei Zürich", "case": "ZH-2026/11"},
        )
        payload = js_sign(node_modules, device.requester.key, body)
        reply = device.core.handle_request(payload)
        assert reply is not None and (reply.ok, reply.decision) == (True, "pending_review"), reply
    finally:
        factory.close()
