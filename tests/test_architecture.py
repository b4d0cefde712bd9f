"""The shape of the code, checked: layers import downwards only, config is read at entry
points only, no import cycle among the models, the service file stays a wiring file.

Layers, lowest first: ``riskcast`` (shared core) → ``data`` → ``features`` → ``forecast`` →
``reports`` → ``experiments`` → ``alerts`` → ``jobs`` → ``api`` → ``service`` → ``cli``.
Every import is counted, those inside functions too.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = (
    "riskcast",
    "data",
    "features",
    "forecast",
    "reports",
    "experiments",
    "alerts",
    "jobs",
    "api",
    "service",
    "cli",
)
RANK = {name: rank for rank, name in enumerate(LAYERS)}


def _files() -> list[Path]:
    out = []
    for layer in LAYERS:
        folder, module = ROOT / layer, ROOT / f"{layer}.py"
        out += sorted(folder.rglob("*.py")) if folder.is_dir() else [module]
    return out


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in RANK}


def _graph() -> dict[str, set[str]]:
    modules = {_module(path): path for path in _files()}

    def known(name: str) -> str:
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        return name

    return {
        module: {known(name) for name in _imports(path)} - {module}
        for module, path in modules.items()
    }


def test_every_import_runs_down_the_layers() -> None:
    back = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if RANK[target.split(".")[0]] > RANK[module.split(".")[0]]
    )
    assert back == []


def test_no_import_cycle_among_the_models() -> None:
    graph = {
        module: {t for t in targets if t.startswith("forecast.models")}
        for module, targets in _graph().items()
        if module.startswith("forecast.models")
    }
    seen: dict[str, int] = defaultdict(int)  # 0 new, 1 on the path, 2 done

    def visit(module: str, path: tuple[str, ...]) -> None:
        seen[module] = 1
        for target in graph.get(module, ()):
            assert seen[target] != 1, f"import cycle: {' → '.join((*path, target))}"
            if seen[target] == 0:
                visit(target, (*path, target))
        seen[module] = 2

    for module in graph:
        if seen[module] == 0:
            visit(module, (module,))


@pytest.mark.parametrize("layer", ["data", "features", "forecast"])
def test_library_code_never_reads_the_config_file(layer: str) -> None:
    pattern = re.compile(r"config_section|load_config")
    hits = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert hits == []


def test_no_import_of_our_own_code_hides_behind_except_import_error() -> None:
    offenders = []
    for path in _files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Try):
                continue
            catches = {ast.unparse(handler.type) for handler in node.handlers if handler.type}
            if not catches & {"ImportError", "ModuleNotFoundError"}:
                continue
            inside = {name for stmt in node.body for name in _imports_of(stmt)}
            if inside:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {sorted(inside)}")
    assert offenders == []


def _imports_of(statement: ast.stmt) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return {name for name in names if name.split(".")[0] in RANK}


def test_the_service_is_a_wiring_file_and_no_route_silences_the_linter() -> None:
    assert len((ROOT / "service.py").read_text(encoding="utf-8").splitlines()) <= 150
    for path in sorted((ROOT / "api" / "routes").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = path.read_text(encoding="utf-8").splitlines()[node.lineno - 1]
                assert "noqa" not in first, f"{path.name}:{node.lineno} {node.name}"
