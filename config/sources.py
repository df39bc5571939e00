"""Raw configuration layers (YAML file, environment, flags) and where each value came from."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Key = tuple[str | int, ...]
ENV_PREFIX = "DOORBELL__"
BOOL = "tag:yaml.org,2002:bool"


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2's booleans: only true and false. Under YAML 1.1 rules
    `off`, `on`, `no` and `yes` are booleans, so `record.mode: off` would arrive as False.
    (A boolean setting still takes them: pydantic reads "off" as False.)"""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _load(text: str) -> Any:
    return yaml.load(text, Loader=Yaml12Loader)  # a SafeLoader: plain data only


def _construct(node: yaml.Node) -> Any:
    """The value of one composed node, built by the same safe loader. (Serialising the node and
    parsing the text again fails on an empty value: `motion:` serialises as `...`, a document
    end marker with no document, which PyYAML cannot parse.)"""
    loader = Yaml12Loader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


@dataclass(frozen=True)
class Origin:
    """Where a value came from: `default`, `file`, `env` or `flag`, with a place to point at."""

    kind: str
    where: str = ""  # "path/to/file.yaml:12", "DOORBELL__MQTT__HOST", "--set motion.threshold"
    line: int | None = None
    mapping: bool = False  # a section header: points at a line, but sets no value by itself


@dataclass
class Layer:
    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[Key, Origin] = field(default_factory=dict)


class LayerError(Exception):
    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _node_to_python(node: yaml.Node, path: Key, file: str, origins: dict[Key, Origin]) -> Any:
    line = node.start_mark.line + 1
    is_mapping = isinstance(node, yaml.MappingNode)
    origins[path] = Origin("file", f"{file}:{line}", line, mapping=is_mapping)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_construct(key_node))
            if key in out:
                line = key_node.start_mark.line + 1
                raise LayerError([f"{file}:{line}: {_dotted(path + (key,))}: key given twice"])
            out[key] = _node_to_python(value_node, path + (key,), file, origins)
            # The key's line is the more useful pointer for errors about its value.
            key_line = key_node.start_mark.line + 1
            origins[path + (key,)] = Origin(
                "file",
                f"{file}:{key_line}",
                key_line,
                mapping=isinstance(value_node, yaml.MappingNode),
            )
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _node_to_python(item, path + (i,), file, origins) for i, item in enumerate(node.value)
        ]
    return _construct(node)


def read_file(path: Path) -> Layer:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LayerError([f"{name}:1: cannot read config file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise LayerError(
            [
                f"{name}:{line}: (file): not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
                "save the file as UTF-8"
            ]
        ) from None
    try:
        node = yaml.compose(text, Loader=Yaml12Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise LayerError([f"{name}:{line}: (yaml): invalid YAML: {problem}"]) from None
    layer = Layer()
    if node is None:
        return layer
    if not isinstance(node, yaml.MappingNode):
        line = node.start_mark.line + 1
        raise LayerError([f"{name}:{line}: (top): must be a mapping of sections (allowed: keys)"])
    layer.values = _node_to_python(node, (), name, layer.origins)
    layer.origins.pop((), None)
    return layer


def _parse_scalar(text: str) -> Any:
    try:
        return _load(text) if text.strip() else ""
    except yaml.YAMLError:
        return text


def _assign(target: dict[str, Any], key: tuple[str, ...], value: Any) -> None:
    node = target
    for part in key[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[key[-1]] = value


def read_env(environ: Mapping[str, str] | None = None) -> Layer:
    """`DOORBELL__MQTT__HOST=x` sets mqtt.host; values are parsed as YAML scalars."""
    layer = Layer()
    for name, raw in sorted((environ if environ is not None else os.environ).items()):
        if not name.startswith(ENV_PREFIX) or len(name) == len(ENV_PREFIX):
            continue
        key = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
        if any(not part for part in key):
            raise LayerError(
                [f"env {name}: (env): empty key segment (allowed: DOORBELL__SECTION__KEY)"]
            )
        _assign(layer.values, key, _parse_scalar(raw))
        layer.origins[key] = Origin("env", name)
    return layer


def read_flags(assignments: list[str], shortcuts: dict[str, Any] | None = None) -> Layer:
    """`--set a.b=value` assignments, then the short flags (already mapped to dotted keys)."""
    layer = Layer()
    for item in assignments:
        dotted, sep, raw = item.partition("=")
        dotted = dotted.strip()
        if not sep or not dotted or any(not p for p in dotted.split(".")):
            raise LayerError([f"--set {item}: (flag): expected KEY.PATH=VALUE"])
        key = tuple(dotted.split("."))
        _assign(layer.values, key, _parse_scalar(raw))
        # the key, never the value: a value may be a secret (mqtt.password), even misspelt
        layer.origins[key] = Origin("flag", f"--set {dotted}")
    for dotted, value in (shortcuts or {}).items():
        key = tuple(dotted.split("."))
        _assign(layer.values, key, value)
        layer.origins[key] = Origin("flag", f"--{dotted}")
    return layer


def merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of mappings; anything else in `over` replaces what `base` had (neither is
    changed)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _dotted(key: Key) -> str:
    return ".".join(str(p) for p in key) if key else "(top)"
