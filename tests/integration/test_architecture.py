"""One house, built at the top: the account wires the services; no import circle; no reach-around.

Every import between the integration's modules counts, `TYPE_CHECKING` ones too: a circle
of type hints is still a circle of modules that cannot be understood one at a time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2] / "custom_components" / "ru_sms"
PACKAGE = "custom_components.ru_sms"

TOP = {
    PACKAGE,
    f"{PACKAGE}.account",
    f"{PACKAGE}.binary_sensor",
    f"{PACKAGE}.config_flow",
    f"{PACKAGE}.diagnostics",
    f"{PACKAGE}.entity",
    f"{PACKAGE}.event",
    f"{PACKAGE}.notify",
    f"{PACKAGE}.sensor",
    f"{PACKAGE}.services",
}
"""The account and what stands on it (setup, platforms, actions, diagnostics, config flow):
the only modules that reach an account through `entry.runtime_data`."""

MAX_LINES = 700
"""No module of the Home Assistant side is longer: past that, it is two things."""


def module_name(path: Path, root: Path, package: str) -> str:
    """The dotted name of the module at `path` (a package by its `__init__`)."""
    parts = path.relative_to(root).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((package, *parts))


def parse(root: Path, package: str) -> dict[str, tuple[Path, ast.Module]]:
    """Every module below `root`, by name, parsed."""
    return {
        module_name(path, root, package): (path, ast.parse(path.read_text("utf-8"), str(path)))
        for path in sorted(root.rglob("*.py"))
    }


def imported(name: str, path: Path, tree: ast.Module, known: Iterable[str]) -> set[str]:
    """The modules of `known` that the module `name` imports, wherever the import stands."""
    known = set(known)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            # `from . import x` imports the package and, where x is a module, x.
            candidates = [target, *(f"{target}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found.update(c for c in candidates if c in known and c != name)
    return found


def import_graph(modules: Mapping[str, tuple[Path, ast.Module]]) -> dict[str, set[str]]:
    """Each module and the modules of the integration it imports."""
    return {name: imported(name, path, tree, modules) for name, (path, tree) in modules.items()}


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import circle of `graph` (its modules in order, the first again last), if any."""
    state: dict[str, int] = {}  # 1: on the path being walked; 2: done, no circle through it
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def reads_runtime_data(tree: ast.Module) -> list[int]:
    """The lines where a module reads or sets `<something>.runtime_data`."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "runtime_data"
    ]


@pytest.fixture(scope="module")
def modules() -> dict[str, tuple[Path, ast.Module]]:
    return parse(ROOT, PACKAGE)


def test_no_import_cycle(modules: dict[str, tuple[Path, ast.Module]]) -> None:
    assert find_cycle(import_graph(modules)) is None


def test_services_never_reach_an_account_through_its_entry(
    modules: dict[str, tuple[Path, ast.Module]],
) -> None:
    """Outbox, tracker, inbox, coordinators, webhook...: collaborators come by constructor."""
    reaching = {
        f"{path.name}:{line}"
        for name, (path, tree) in modules.items()
        if name not in TOP
        for line in reads_runtime_data(tree)
    }
    assert reaching == set()
    assert reads_runtime_data(modules[f"{PACKAGE}.account"][1])  # the one that looks one up


def test_below_the_account_nothing_imports_from_above(
    modules: dict[str, tuple[Path, ast.Module]],
) -> None:
    graph = import_graph(modules)
    below: set[str] = set()
    todo = [f"{PACKAGE}.account"]
    while todo:
        for target in graph[todo.pop()]:
            if target not in below:
                below.add(target)
                todo.append(target)
    assert f"{PACKAGE}.tracker" in below  # the walk did reach the services
    assert {name: graph[name] & TOP for name in below if graph[name] & TOP} == {}


def test_no_module_of_the_home_assistant_side_is_too_long(
    modules: dict[str, tuple[Path, ast.Module]],
) -> None:
    long = {
        path.name: lines
        for name, (path, _) in modules.items()
        if not name.startswith(f"{PACKAGE}.providers")
        and (lines := len(path.read_text("utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


# -- the checks themselves catch what they are for ---------------------------------------


def write(root: Path, files: dict[str, str]) -> dict[str, tuple[Path, ast.Module]]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return parse(root, "pkg")


def test_a_circle_through_type_hints_is_found(tmp_path: Path) -> None:
    modules = write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from .b import B\n",
            "b.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .sub.c import C\n"
            ),
            "sub/__init__.py": "",
            "sub/c.py": "from ..a import A\n",
        },
    )
    assert find_cycle(import_graph(modules)) == ["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]


def test_a_module_importing_its_package_closes_a_circle(tmp_path: Path) -> None:
    modules = write(
        tmp_path,
        {"__init__.py": "from .a import A\n", "a.py": "from . import helpers\n", "helpers.py": ""},
    )
    assert find_cycle(import_graph(modules)) == ["pkg", "pkg.a", "pkg"]


def test_no_circle_among_layers(tmp_path: Path) -> None:
    modules = write(
        tmp_path,
        {
            "__init__.py": "from .top import T\n",
            "top.py": "from .low import L\n",
            "low.py": "import pkg.lowest\n",
            "lowest.py": "",
        },
    )
    graph = import_graph(modules)
    assert graph["pkg.low"] == {"pkg.lowest"}
    assert find_cycle(graph) is None


def test_a_reach_through_the_entry_is_found() -> None:
    tree = ast.parse("def f(entry):\n    return entry.runtime_data.tracker\n")
    assert reads_runtime_data(tree) == [2]
