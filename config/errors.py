"""Turning validation errors into `FILE:LINE: key.path: what is wrong (allowed: ...)` lines."""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, Union

import annotated_types
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo

from doorbell.config.sources import Key, Origin


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    metadata: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        annotation, *extra = typing.get_args(annotation)
        metadata.extend(extra)
    return annotation, metadata


def _bounds(metadata: list[Any]) -> str:
    low = high = ""
    for item in metadata:
        if isinstance(item, FieldInfo):
            return _bounds(list(item.metadata))
        if isinstance(item, annotated_types.Ge):
            low = f">= {item.ge}"
        elif isinstance(item, annotated_types.Gt):
            low = f"> {item.gt}"
        elif isinstance(item, annotated_types.Le):
            high = f"<= {item.le}"
        elif isinstance(item, annotated_types.Lt):
            high = f"< {item.lt}"
    return " and ".join(x for x in (low, high) if x)


def describe(annotation: Any, metadata: list[Any] | None = None) -> str:
    """Words for what a field accepts, e.g. `integer >= 1 and <= 255`."""
    annotation, extra = _unwrap(annotation)
    metadata = (metadata or []) + extra
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "one of: " + ", ".join(str(v) for v in typing.get_args(annotation))
    if origin in (Union, types.UnionType):
        parts = [describe(a, metadata) for a in typing.get_args(annotation) if a is not type(None)]
        text = " or ".join(parts)
        return text + (" or null" if type(None) in typing.get_args(annotation) else "")
    if origin is tuple:
        return "[" + ", ".join(describe(a) for a in typing.get_args(annotation)) + "]"
    if origin is list:
        args = typing.get_args(annotation)
        return f"list of {describe(args[0])}" if args else "list"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping with keys: " + ", ".join(annotation.model_fields)
    names = {int: "integer", float: "number", bool: "true or false", str: "text"}
    name = names.get(annotation, getattr(annotation, "__name__", str(annotation)))
    if annotation is SecretStr:
        name = "text (secret)"
    bounds = _bounds(metadata)
    return f"{name} {bounds}".strip()


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def annotation_at(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[Any, list[Any]] | None:
    """The type (and its constraints) that the value at `loc` must have, or None if unknown."""
    annotation: Any = model
    metadata: list[Any] = []
    for part in loc:
        annotation, _ = _unwrap(_strip_optional(_unwrap(annotation)[0]))
        origin = typing.get_origin(annotation)
        if isinstance(part, int) and origin in (list, tuple):
            args = typing.get_args(annotation)
            annotation = args[min(part, len(args) - 1)] if origin is tuple else args[0]
            metadata = []
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return None
            annotation, metadata = field.annotation, list(field.metadata)
        else:
            return None
    return annotation, metadata


def _where(loc: Key, origins: dict[Key, Origin], fallback: str) -> str:
    for n in range(len(loc), 0, -1):
        origin = origins.get(loc[:n])
        if origin is not None:
            if origin.kind == "env":
                return f"env {origin.where}"
            return origin.where
    return fallback


def format_errors(
    exc: ValidationError, model: type[BaseModel], origins: dict[Key, Origin], fallback: str
) -> list[str]:
    lines = []
    for err in exc.errors():
        # pydantic puts union/validator tags such as `function-after[...]` in the path; an unknown
        # key is the user's own text, whatever it holds, and is always last
        raw = tuple(err["loc"])
        user_key = raw[-1:] if err["type"] == "extra_forbidden" else ()
        rest = raw[: len(raw) - len(user_key)]
        loc: Key = tuple(p for p in rest if not (isinstance(p, str) and "[" in p)) + user_key
        dotted = ".".join(str(p) for p in loc) or "(top)"
        where = _where(loc, origins, fallback)
        if err["type"] == "extra_forbidden":
            found = annotation_at(model, loc[:-1])
            parent = _unwrap(_strip_optional(found[0]))[0] if found else None
            is_model = isinstance(parent, type) and issubclass(parent, BaseModel)
            known = list(parent.model_fields) if is_model and parent is not None else []
            import difflib  # here: only a wrong key needs it

            close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            lines.append(f"{where}: {dotted}: unknown key{hint} (allowed: {', '.join(known)})")
            continue
        found = annotation_at(model, loc)
        message = err["msg"].removeprefix("Value error, ")
        allowed = describe(*found) if found else _allowed_from_ctx(err)
        suffix = f" (allowed: {allowed})" if allowed else ""
        lines.append(f"{where}: {dotted}: {message}{suffix}")
    return lines


def _allowed_from_ctx(err: Any) -> str:
    ctx = err.get("ctx") or {}
    if "expected" in ctx:
        return str(ctx["expected"])
    for key, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
        if key in ctx:
            return f"{word} {ctx[key]}"
    return ""
