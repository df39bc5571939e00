"""Imports run device -> (motion, uplink) -> config, never back, never in a circle; the firmware
never imports its emulation harness; and every import of the project goes through the installed
namespace (`doorbell.config`, never a bare `config`, which in a user's project is their own).

Read from the source with `ast` (every import, also those inside functions and under
TYPE_CHECKING), so a layering break fails here before anyone has to notice it in review.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("device", "motion", "uplink", "config")
# What each top-level package may import from the project (itself included).
ALLOWED = {
    "device": {"device", "motion", "uplink", "config"},
    "motion": {"motion", "config"},
    "uplink": {"uplink", "config"},
    "config": {"config"},
}
HARNESS = "device.emulation"
# What only the harness and the command line may import from it: the firmware's one door into the
# emulation is the `synthetic:` camera, which `device.sources.open_source` loads when asked for.
HARNESS_USERS = ("device.emulation", "device.cli")
HARNESS_DOORS = {("device.sources", "device.emulation.synthetic_source")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def imported_names(path: Path) -> list[str]:
    """Every absolute name `path` imports (`from a.b import c` gives `a.b.c`)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `path` imports, named by their folder (`doorbell.device.x` is
    `device.x`; `from a.b import c` is `a.b.c` when that is a module, else `a.b`)."""
    found: set[str] = set()
    for name in imported_names(path):
        if not name.startswith("doorbell."):
            continue
        name = name.removeprefix("doorbell.")
        found.add(name if name in modules else name.rpartition(".")[0])
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(path, modules) for name, path in modules.items()}


def layering_breaks(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{source} imports {target}"
        for source, targets in graph.items()
        for target in targets
        if target.split(".")[0] not in ALLOWED[source.split(".")[0]]
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def harness_breaks(graph: dict[str, set[str]]) -> list[str]:
    def within(name: str, package: str) -> bool:
        return name == package or name.startswith(package + ".")

    return sorted(
        f"{source} imports {target}"
        for source, targets in graph.items()
        for target in targets
        if within(target, HARNESS)
        and not any(within(source, user) for user in HARNESS_USERS)
        and not any(within(source, s) and target == t for s, t in HARNESS_DOORS)
    )


def test_imports_follow_the_layers() -> None:
    assert layering_breaks(import_graph()) == []


def test_the_firmware_does_not_import_its_harness() -> None:
    assert harness_breaks(import_graph()) == []


def test_every_project_import_goes_through_the_namespace() -> None:
    bare = sorted(
        f"{module} imports {name}"
        for module, path in project_modules().items()
        for name in imported_names(path)
        if name.split(".")[0] in PACKAGES
    )
    assert bare == []


def test_no_module_imports_itself_in_a_circle() -> None:
    assert cycles(import_graph()) == []


def test_the_checks_see_a_break() -> None:
    graph = {"uplink.a": {"device.b"}, "device.b": {"uplink.a"}, "config.c": set()}
    assert layering_breaks(graph) == ["uplink.a imports device.b"]
    assert cycles(graph) == [["device.b", "uplink.a"]]
    firmware = {"device.runtime.a": {"device.emulation.b"}, "device.sources": {HARNESS + ".x"}}
    assert harness_breaks(firmware) == [
        "device.runtime.a imports device.emulation.b",
        "device.sources imports device.emulation.x",
    ]


BARE_RUN = re.compile(
    r"""["']-m["'],\s*["'](device|motion|uplink|config)["']|-m (device|motion|uplink|config)\b"""
)


def test_no_script_runs_a_folder_as_a_top_level_package() -> None:
    # `python -m device` from the repository's root imports its folder as a package of its own,
    # beside the installed doorbell.device: two copies of every module, and a test that passes
    # here and not where the project is installed
    found = sorted(
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("tests", "benchmarks", "docs")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".py", ".md", ".sh"}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if BARE_RUN.search(line) and path.name != "test_layering.py"
    )
    assert found == []
