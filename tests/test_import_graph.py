"""No import cycles inside aikit, counting lazy (function-level) imports too.

A lazy import only postpones a cycle: the two modules still depend on each other, and the
first call that runs the import can meet a half-initialised module. Imports under
``if TYPE_CHECKING:`` never run and are left out.
"""

from __future__ import annotations

import ast
import pathlib
import textwrap

import aikit

#: module name -> {imported aikit module: line of the first such import}
Graph = dict[str, dict[str, int]]

PACKAGE_DIR = pathlib.Path(aikit.__file__).parent


def module_names(package_dir: pathlib.Path) -> dict[str, pathlib.Path]:
    """Every module of the package, by dotted name (a package by its own name)."""
    root = package_dir.parent
    names: dict[str, pathlib.Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that can run: everywhere but the body of ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)  # an ``else:`` branch does run
            continue
        pending.extend(ast.iter_child_nodes(node))
    return found


def _owning_module(name: str, modules: dict[str, pathlib.Path]) -> str | None:
    """``aikit.x.y.attr`` -> the longest module prefix that exists (None outside the package)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(package_dir: pathlib.Path) -> Graph:
    modules = module_names(package_dir)
    graph: Graph = {name: {} for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    parts = package.split(".")
                    base_parts = parts[: len(parts) - node.level + 1]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                # ``from pkg import sub`` imports the submodule when there is one.
                targets = [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                owner = _owning_module(target, modules)
                if owner is not None and owner != name:
                    edges = graph[name]
                    edges[owner] = min(edges.get(owner, node.lineno), node.lineno)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def describe(graph: Graph, component: list[str]) -> str:
    members = set(component)
    edges = [
        f"    {src} -> {dst} (line {line})"
        for src in component
        for dst, line in sorted(graph[src].items())
        if dst in members
    ]
    return "cycle: " + ", ".join(component) + "\n" + "\n".join(edges)


def test_aikit_has_no_import_cycle() -> None:
    graph = import_graph(PACKAGE_DIR)
    assert graph.get("aikit.client"), "the graph found no imports"
    found = cycles(graph)
    assert not found, "\n".join(describe(graph, c) for c in found)


def _write_package(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    package = root / "pkg"
    for relative, text in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return package


def test_lazy_imports_count_and_type_checking_ones_do_not(tmp_path: pathlib.Path) -> None:
    package = _write_package(tmp_path, {
        "__init__.py": "",
        "a.py": """
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from .c import C
            else:
                from . import d
            def f():
                from .b import g
        """,
        "b.py": "from .a import f\n",
        "c.py": "from pkg.a import f\n",
        "d.py": "",
        "sub/__init__.py": "from .. import b\n",
    })
    graph = import_graph(package)
    assert set(graph["pkg.a"]) == {"pkg.b", "pkg.d"}  # not pkg.c: TYPE_CHECKING only
    assert graph["pkg.sub"] == {"pkg.b": 1}
    assert cycles(graph) == [["pkg.a", "pkg.b"]]
    assert "pkg.a -> pkg.b (line 8)" in describe(graph, ["pkg.a", "pkg.b"])
