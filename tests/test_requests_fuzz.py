"""Whatever arrives on cmd/footage_request, the device answers with a refusal and nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doorbell.config import DoorbellConfig
from doorbell.uplink.requests import FootageRequests
from tests.support.footage import T0, ListIndex, Signer, request_body

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
FIELDS = ["request_id", "requester", "window", "reason", "expires", "upload", "key_id"]


def core_for(tmp_path: Path, signer: Signer) -> FootageRequests:
    config = DoorbellConfig.model_validate(
        {
            "device": {"id": "porch-cam"},
            "requests": {"trusted_keys": [signer.public], "policy": "share_all"},
        }
    )
    return FootageRequests(config, tmp_path, ListIndex([]), clock=lambda: T0)


SIGNER = Signer()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.dictionaries(st.sampled_from([*FIELDS, "signature", "x"]), JSON) | JSON)
def test_random_bodies_are_refused(tmp_path: Path, body: Any) -> None:
    core = core_for(tmp_path, SIGNER)
    try:
        for raw in (body, json.dumps(body).encode()):
            reply = core.handle_request(raw)
            assert (reply.ok, reply.decision, reply.clips) == (False, "refused", [])
        assert core.in_states() == []
    finally:
        core.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(FIELDS), value=JSON)
def test_any_change_after_signing_is_refused(tmp_path: Path, field: str, value: Any) -> None:
    body = SIGNER.sign(
        request_body("req-f", T0 - 3600, T0 - 600, T0 + 3600, "https://example.org/{name}")
    )
    if body.get(field) == value:
        return
    body[field] = value
    core = core_for(tmp_path, SIGNER)
    try:
        reply = core.handle_request(body)
        assert (reply.ok, reply.decision) == (False, "refused")
        assert core.in_states() == []
    finally:
        core.close()


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        st.sampled_from(["request_id", "decision", "clips", "expires", "key_id", "signature"]),
        JSON,
    )
)
def test_random_decisions_are_refused(tmp_path: Path, body: Any) -> None:
    core = core_for(tmp_path, SIGNER)
    try:
        reply = core.handle_decision(body)
        assert (reply.ok, reply.decision, reply.clips) == (False, "refused", [])
    finally:
        core.close()
