"""How footage requests plug into the uplink's command registry (name -> pydantic model).

The registry validates a command body before dispatch; for signed commands that validation must
keep the body exactly as sent, since the signature covers its canonical form (a model that
re-serialised `2026-11-28T18:00:00Z` as `...+00:00` would break every signature). `SignedBody`
therefore only checks "a JSON object" and hands the dict through; FootageRequests verifies, then
parses. Each command has its own body type so the device's registry can pair it with its handler.
"""

from __future__ import annotations

from typing import Any

from pydantic import RootModel


class SignedBody(RootModel[dict[str, Any]]):
    """Any JSON object, untouched."""


class FootageRequestBody(SignedBody):
    """`cmd/footage_request`: verified and parsed by `FootageRequests.handle_request`."""


class FootageDecisionBody(SignedBody):
    """`cmd/footage_decision`: verified and parsed by `FootageRequests.handle_decision`."""


COMMANDS: dict[str, type[SignedBody]] = {
    "footage_request": FootageRequestBody,
    "footage_decision": FootageDecisionBody,
}
