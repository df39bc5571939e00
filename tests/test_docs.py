"""The docs are true: every file and module they name exists, and every `doorbell` command line in
their code blocks is one the command line takes (commands, options, choices and arguments)."""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest

from doorbell.config import DoorbellConfig
from doorbell.device.cli import cli
from doorbell.device.cli.owner_cmd import parse_fields

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FOLDERS = "device|motion|uplink|config|tests|benchmarks|tools|docs|constraints"
FILE = re.compile(rf"(?<![\w./-])((?:{FOLDERS})/[\w./-]*\w\.(?:py|yaml|acl|md|txt|json))")
MODULE = re.compile(r"`((?:device|motion|uplink)\.[a-z_]+(?:\.[A-Za-z_]+)*)`")
INLINE = re.compile(r"`doorbell ([^`]+)`")
BLOCK = re.compile(r"```(?:sh|console|bash)\n(.*?)```", re.S)


def text_of(doc: Path) -> str:
    return doc.read_text()


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_file_a_doc_names_exists(doc: Path) -> None:
    missing = sorted({m for m in FILE.findall(text_of(doc)) if not (ROOT / m).exists()})
    assert missing == []


def is_module_path(dotted: str) -> bool:
    """`device.runtime.policy`, `device.runtime.policy.ModePolicy`: importable, then found."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            thing: object = importlib.import_module("doorbell." + ".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            if not hasattr(thing, name) and name not in getattr(thing, "model_fields", {}):
                return False
            thing = getattr(thing, name, None)
        return True
    return False


def is_config_key(dotted: str) -> bool:
    """`uplink.commands.owner_keys`: a key of the config file (the docs name both)."""
    model: Any = DoorbellConfig
    for name in dotted.split("."):
        fields = getattr(model, "model_fields", None)
        if fields is None or name not in fields:
            return False
        model = fields[name].annotation
    return True


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_module_a_doc_names_exists(doc: Path) -> None:
    named = {m for m in MODULE.findall(text_of(doc)) if not m.endswith(".py")}  # a file
    assert sorted(m for m in named if not is_module_path(m) and not is_config_key(m)) == []


def inline_commands(doc: Path) -> list[str]:
    """Inline `doorbell ...` spans: names of commands and their options, placeholders allowed."""
    return [span for span in INLINE.findall(text_of(doc)) if "/" not in span.split()[0]]


def command_lines(doc: Path) -> list[str]:
    """`doorbell ...` lines of the doc's shell blocks (continuations joined, comments cut)."""
    found = []
    for block in BLOCK.findall(text_of(doc)):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = re.sub(r"^\$ ", "", line.strip())
            words = shlex.split(line, comments=True)
            while words and (words[0] in ("sudo",) or "=" in words[0]):
                words.pop(0)
            if words and re.fullmatch(r"(\S*/)?doorbell", words[0]):
                found.append(shlex.join(words[1:]))
    return found


def option_names(command: click.Command) -> set[str]:
    return {"-h", "--help"} | {
        name for param in command.params for name in (*param.opts, *param.secondary_opts)
    }


def check_names(command: click.Command, words: list[str], path: str) -> None:
    """The command path exists and every `--option` named is one of its options."""
    if isinstance(command, click.Group) and words and re.fullmatch(r"[a-z][a-z-]*", words[0]):
        sub = command.get_command(click.Context(command), words[0])
        assert sub is not None, f"{path}: no command {words[0]!r}"
        check_names(sub, words[1:], f"{path} {words[0]}")
        return
    named = {w.split("=")[0] for w in words if re.match(r"--?[a-z]", w)}
    assert named <= option_names(command), (
        f"{path}: no option {sorted(named - option_names(command))}"
    )


def check_args(command: click.Command, args: list[str], path: str) -> None:
    """The whole line parses as the command line would take it (nothing is run)."""
    try:
        ctx = command.make_context(path, list(args))
    except click.exceptions.Exit as done:  # an eager option that prints and ends (--locustfile)
        assert done.exit_code == 0
        return
    if isinstance(command, click.Group):
        rest = [*ctx._protected_args, *ctx.args]
        assert rest, f"{path}: a subcommand is missing"
        sub = command.get_command(ctx, rest[0])
        assert sub is not None, f"{path}: no command {rest[0]!r}"
        check_args(sub, rest[1:], f"{path} {rest[0]}")
    elif path == "doorbell owner send":
        parse_fields(tuple(ctx.params["fields"]))


LINES = [(doc.name, line) for doc in DOCS for line in command_lines(doc)]
SPANS = [(doc.name, span) for doc in DOCS for span in inline_commands(doc)]


def test_the_docs_have_commands_to_check() -> None:
    assert len(LINES) >= 5 and len(SPANS) >= 40


@pytest.mark.parametrize(("doc", "line"), LINES)
def test_every_command_line_in_the_docs_parses(doc: str, line: str) -> None:
    check_args(cli, shlex.split(line), "doorbell")


@pytest.mark.parametrize(("doc", "span"), SPANS)
def test_every_command_the_docs_name_exists_with_its_options(doc: str, span: str) -> None:
    # `a|b` names alternatives: the first is checked whole (`mode disarmed|home` is `mode disarmed`)
    check_names(cli, span.split("|")[0].replace("[", " ").replace("]", " ").split(), "doorbell")
