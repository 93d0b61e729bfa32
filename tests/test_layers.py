"""The layers and the import graph: schemas imports nothing of ours; transforms and warehouse import only
schemas; nothing outside flows imports flows; and no module reaches itself again through its imports.

The graph is read from the source (every import, at the top of a module, inside a function or under
`if TYPE_CHECKING:`: a type that needs a circle to be named is in the wrong module), so a circle hidden in a
function body or an annotation is found too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("schemas", "transforms", "warehouse", "flows")
ALLOWED = {  # a package -> the packages of ours it may import, besides itself
    "schemas": set(),
    "transforms": {"schemas"},
    "warehouse": {"schemas"},
    "flows": {"schemas", "transforms", "warehouse"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ours that `name` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {target for target in found if target in modules and target != name}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The circles of the graph: one path (first module repeated at its end) per strongly connected group."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_circle(graph, sorted(group)) for group in groups]


def _circle(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    """A path from the group's first module back to it, inside the group."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & members):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    return group


def test_the_graph_is_read_from_every_package():
    graph = import_graph()
    assert {"schemas.registry", "transforms.report", "warehouse.queries", "flows.cli.main", "flows.cli.common"} <= set(
        graph
    )
    assert "flows.cli.common" in graph["flows.claims"] and "warehouse.queries" in graph["flows.cli.common"]
    assert "flows.claims" in graph["flows.cli.main"]


def test_the_cycle_finder_finds_a_circle():
    """The finder itself: a circle of three, and one through a function-level import, are found."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_anywhere():
    assert cycles(import_graph()) == []


def test_each_layer_imports_only_the_layers_below_it():
    wrong = [
        f"{name} imports {target}"
        for name, targets in import_graph().items()
        for target in sorted(targets)
        if target.split(".")[0] != name.split(".")[0] and target.split(".")[0] not in ALLOWED[name.split(".")[0]]
    ]
    assert wrong == []


def test_the_command_modules_never_import_the_app():
    """Only the package itself (which hands out `app`) refers to flows.cli.main; no module imports flows.cli."""
    graph = import_graph()
    assert sorted(name for name, targets in graph.items() if "flows.cli.main" in targets) == ["flows.cli"]
    assert sorted(name for name, targets in graph.items() if "flows.cli" in targets) == []


def test_importing_the_command_line_reads_no_registry_and_the_shared_module_loads_no_command():
    """The registry is read when the command line runs (here, when --help is built), not when it is imported."""
    script = (
        "import sys\n"
        "import flows.cli.common\n"
        "assert not [m for m in sys.modules if m.startswith(('flows.cli.main', 'flows.claims', 'flows.report'))]\n"
        "from schemas.registry import load_registry\n"
        "from flows.cli import app\n"
        "assert load_registry.cache_info().currsize == 0, 'the registry was read on import'\n"
        "from typer.testing import CliRunner\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0 and 'NCCT, MOI' in ' '.join(result.output.split()), result.output\n"
        "assert load_registry.cache_info().currsize == 1\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_command_line_reads_the_analyst_file_only_through_the_queries():
    """Every read of the analyst file goes through warehouse.queries.open_analyst: no command connects itself."""
    command_modules = [
        ROOT / "flows" / "cli",
        *(
            ROOT / "flows" / f"{name}.py"
            for name in ("claims", "describe", "export", "report", "generate", "template", "accounts", "checking")
        ),
    ]
    files = [p for place in command_modules for p in ([place] if place.is_file() else sorted(place.rglob("*.py")))]
    connecting = [
        str(path.relative_to(ROOT)) for path in files if "duckdb.connect(" in path.read_text(encoding="utf-8")
    ]
    assert connecting == []
    assert "def open_analyst(" in (ROOT / "warehouse" / "queries.py").read_text(encoding="utf-8")
