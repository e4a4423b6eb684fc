"""One way through the house: the import graph of src/gatepass has no cycle and no import from a lower
floor to a higher one (docs/design.md "Layout" lists the floors; this list is that one, as data).

Every import counts, at module level or inside a function (a deferred import still makes the lower module
know the higher one), except those under ``if TYPE_CHECKING:`` (annotations only, never run). An
import names the module it imports, not the packages above it.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "gatepass"

# Floors, lowest first. A module is on the floor of the longest name here that is it or a package above it.
FLOORS: list[tuple[str, tuple[str, ...]]] = [
    ("ground", ("gatepass", "gatepass.errors", "gatepass.paths", "gatepass.hosts", "gatepass.model",
                "gatepass.linemap", "gatepass.jsontext", "gatepass.envvars")),
    ("files", ("gatepass.ownership", "gatepass.readback", "gatepass.files")),
    ("values", ("gatepass.hostkey", "gatepass.sealing", "gatepass.presets", "gatepass.resolver", "gatepass.scoped_hint",
                "gatepass.trace",
                "gatepass.engines.specs", "gatepass.engines.urls")),
    ("config", ("gatepass.config",)),
    ("secrets", ("gatepass.engines", "gatepass.secret_sources", "gatepass.stores")),
    ("app", ("gatepass.app",)),
    ("front ends", ("gatepass.protocol", "gatepass.cli")),
]
# Known and being moved by the architecture work in flight (another branch): each entry must still exist,
# so the list shrinks as the moves land and never hides a new cycle or arrow.
PENDING_CYCLES: set[frozenset[str]] = set()
PENDING_UPWARD: set[tuple[str, str]] = set()


def modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported(path: Path, name: str, known: dict[str, Path]) -> set[str]:
    """The gatepass modules ``name`` imports (``from package import module`` names the module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return {n for n in names if n in known and n != name}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imported(path, name, known) for name, path in known.items()}


def floor(name: str) -> int:
    best, level = -1, -1
    for index, (_, prefixes) in enumerate(FLOORS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, level = len(prefix), index
    return level


def cycles(edges: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.add(frozenset(component))
    return found


def test_every_module_has_a_floor():
    assert [name for name in modules() if floor(name) < 0] == []


def test_no_import_cycle():
    found = cycles(graph())
    assert found - PENDING_CYCLES == set(), "a new import cycle"
    assert PENDING_CYCLES - found == set(), "a pending cycle is gone: remove it from PENDING_CYCLES"


def test_no_import_from_a_lower_floor_to_a_higher_one():
    upward = {(name, target) for name, targets in graph().items() for target in targets if floor(target) > floor(name)}
    named = {f"{name} ({FLOORS[floor(name)][0]}) -> {target} ({FLOORS[floor(target)][0]})"
             for name, target in upward - PENDING_UPWARD}
    assert named == set()
    assert PENDING_UPWARD - upward == set(), "a pending arrow is gone: remove it from PENDING_UPWARD"


def test_the_checker_sees_a_cycle_and_an_arrow_back_up():
    edges = {"gatepass.model": {"gatepass.app"}, "gatepass.app": {"gatepass.model"}, "gatepass.hosts": set()}
    assert cycles(edges) == {frozenset({"gatepass.model", "gatepass.app"})}
    assert floor("gatepass.model") < floor("gatepass.app")
    assert floor("gatepass.engines.specs") < floor("gatepass.config.schema") < floor("gatepass.engines.vault")


def test_every_protocol_operation_has_one_signature():
    """(input, env, report, trace) for each, as docker-credential-helpers' HandleCommand: no operation is a
    special case of the dispatcher's."""
    import inspect

    from gatepass.protocol import docker, git

    for operations in (git.OPERATIONS, docker.OPERATIONS):
        shapes = {name: [p.kind for p in inspect.signature(op).parameters.values()] for name, op in operations.items()}
        assert all(len(shape) == 4 for shape in shapes.values()), shapes
        assert all(p.default is inspect.Parameter.empty for op in operations.values()
                   for p in inspect.signature(op).parameters.values())
