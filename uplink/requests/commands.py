"""How footage requests plug into the uplink's command registry (name -> pydantic model).

The registry validates a command body before dispatch; for signed commands that validation must
keep the body exactly as sent, since the signature covers its canonical form (a model that
re-serialised `2026-11-28T18:00:00Z` as `...+00:00` would break every signature). `SignedBody`
therefore only checks "a JSON object" and hands the dict through; FootageRequests verifies, then
parses.
"""

from __future__ import annotations

from typing import Any

from pydantic import RootModel

from uplink.requests.footage_requests import FootageRequests
from uplink.requests.models import RequestReply


class SignedBody(RootModel[dict[str, Any]]):
    """Any JSON object, untouched."""


COMMANDS: dict[str, type[SignedBody]] = {
    "footage_request": SignedBody,
    "footage_decision": SignedBody,
}


def dispatch(
    requests: FootageRequests, name: str, body: SignedBody | dict[str, Any]
) -> RequestReply:
    """Run one footage command; the reply goes to `<base>/cmd/<name>/result`."""
    raw = body.root if isinstance(body, SignedBody) else body
    if name == "footage_request":
        return requests.handle_request(raw)
    if name == "footage_decision":
        return requests.handle_decision(raw)
    raise KeyError(name)


def result_data(reply: RequestReply) -> dict[str, Any]:
    """The reply as a plain dict, e.g. for `CommandResult(ok=reply.ok, error=reply.error,
    data=result_data(reply))`."""
    return reply.model_dump(mode="json")
