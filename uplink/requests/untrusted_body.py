"""A footage request or decision as it arrives, from anyone: bounded before anything reads it.

Size, JSON, object, depth, in that order, each checked before the next step walks the body
(the audit and pydantic recurse over what they get). A failure is a `Refusal`, whose words are
safe to send back.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from doorbell.uplink.requests.models import REQUEST_ID_PATTERN

MAX_DEPTH = 8  # a request is 3 levels deep


class Refusal(Exception):
    """Why a request or decision is refused; nothing else happens."""


def parse_body(raw: dict[str, Any] | bytes | str, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object no bigger than `max_bytes` and no deeper than MAX_DEPTH."""
    if isinstance(raw, (bytes, str)):
        size = len(raw.encode() if isinstance(raw, str) else raw)
        if size > max_bytes:
            raise Refusal(f"too large ({size} bytes)")
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise Refusal("malformed: not JSON") from None
    if not isinstance(raw, dict):
        raise Refusal("malformed: not a JSON object")
    if depth(raw) > MAX_DEPTH:  # before anything (the audit too) walks it recursively
        raise Refusal(f"malformed: nested deeper than {MAX_DEPTH} levels")
    return raw


def depth(value: object) -> int:
    """How deeply lists and objects nest in `value`, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = list(item.values()) if isinstance(item, dict) else item
        if isinstance(children, list) and children:
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                return level
            stack.extend((child, level + 1) for child in children)
    return deepest


def first_error(exc: ValidationError) -> str:
    """pydantic's first complaint, in one line: where in the body, and what."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return f"{where}: {err['msg']}"


def safe_id(raw: Any) -> str | None:
    """The body's request_id if it is well formed: only such an id is echoed back."""
    value = raw.get("request_id") if isinstance(raw, dict) else None
    if isinstance(value, str) and re.match(REQUEST_ID_PATTERN, value):
        return value
    return None
