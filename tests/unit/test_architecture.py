"""The layout keeps its promises (README, "Architecture"): layers import downwards only, no
module imports itself round a circle, no file outgrows one idea."""

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("handoff", "api")
# What each layer of the engine may import from the others (itself always).
MAY_IMPORT = {
    "domain": set(),
    "store": {"domain"},
    "history": {"domain", "store"},
    "services": {"domain", "store", "history"},
    "delivery": {"domain", "store", "history", "services"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `path` imports (anywhere in it, functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found


def third_party_imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "handoff" and len(parts) > 2 else None


def test_no_module_imports_itself_round_a_circle() -> None:
    modules = sources()
    graph = {name: imports_of(path, modules) - {name} for name, path in modules.items()}
    # A package's __init__ importing its own modules is no circle through the package.
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as error:
        pytest.fail(f"import circle: {' -> '.join(error.args[1])}")


def test_each_layer_of_the_engine_imports_only_the_layers_below_it() -> None:
    modules = sources()
    wrong = []
    for name, path in modules.items():
        layer = layer_of(name)
        if layer not in MAY_IMPORT:
            continue
        for imported in imports_of(path, modules):
            other = layer_of(imported)
            upward = other in MAY_IMPORT and other != layer and other not in MAY_IMPORT[layer]
            if imported.startswith("api") or upward:
                wrong.append(f"{name} imports {imported}")
    assert wrong == []


def test_the_engine_never_imports_the_web_framework() -> None:
    web = {"fastapi", "starlette", "uvicorn", "jinja2"}
    offenders = {
        name: sorted(third_party_imports_of(path) & web)
        for name, path in sources().items()
        if name.startswith("handoff") and third_party_imports_of(path) & web
    }
    # The command line starts the server: its one reach into the web stack.
    offenders.pop("handoff.cli", None)
    assert offenders == {}


def test_the_domain_knows_no_database() -> None:
    database = {"sqlalchemy", "psycopg", "sqlite3", "alembic"}
    offenders = [
        name
        for name, path in sources().items()
        if layer_of(name) == "domain" and third_party_imports_of(path) & database
    ]
    assert offenders == []


def test_no_file_passes_400_lines() -> None:
    long = {
        name: lines
        for name, path in sources().items()
        if (lines := len(path.read_text().splitlines())) > 400
    }
    assert long == {}


def test_the_engine_has_at_most_twelve_modules_at_its_top() -> None:
    top = [p.name for p in (ROOT / "handoff").iterdir() if p.suffix == ".py"]
    assert len(top) <= 12, sorted(top)
