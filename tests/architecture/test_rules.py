"""The architecture rules as tests: module size, import boundaries, docstrings, no print(),
provider module name == spec name."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import portico
from portico.adapters import providers as providers_pkg
from portico.adapters.base import ProviderSpec

SRC = Path(portico.__file__).resolve().parent
MAX_LINES = 800
HTTP_CLIENTS = {"aiohttp", "httpx", "requests", "urllib3", "http.client", "httpcore"}
DB_DRIVERS = {"sqlalchemy", "aiosqlite", "asyncpg", "sqlite3", "psycopg", "psycopg2", "alembic"}
REDIS = {"redis"}


def modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def dotted(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every imported module name (absolute), including lazy imports inside functions."""
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def hits(names: set[str], banned: set[str]) -> set[str]:
    return {n for n in names for b in banned if n == b or n.startswith(b + ".")}


def in_package(path: Path, package: str) -> bool:
    return dotted(path) == package or dotted(path).startswith(package + ".")


ALL = modules()
IDS = [dotted(p) for p in ALL]


def test_the_walk_finds_the_tree() -> None:
    assert len(ALL) > 100 and "portico.server.app" in IDS


@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_module_size(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_module_opens_with_docstring(path: Path) -> None:
    tree = ast.parse(path.read_text())
    assert ast.get_docstring(tree), f"{dotted(path)} needs a 1-3 line module docstring"


@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_import_boundaries(path: Path) -> None:
    names = imports(path)
    if in_package(path, "portico.adapters"):
        bad = hits(names, HTTP_CLIENTS | DB_DRIVERS | REDIS | {
            "portico.store", "portico.server", "portico.upstream", "starlette", "uvicorn"})
        assert not bad, f"adapters do no I/O: {sorted(bad)}"
    if not in_package(path, "portico.upstream"):
        bad = hits(names, HTTP_CLIENTS)
        assert not bad, f"only portico.upstream imports an HTTP client: {sorted(bad)}"
    if not in_package(path, "portico.store"):
        bad = hits(names, DB_DRIVERS)
        assert not bad, f"only portico.store imports database drivers: {sorted(bad)}"
    if not (in_package(path, "portico.store") or in_package(path, "portico.limits")):
        bad = hits(names, REDIS)
        assert not bad, f"only portico.store and portico.limits import redis: {sorted(bad)}"


@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_no_print(path: Path) -> None:
    tree = ast.parse(path.read_text())
    calls = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id == "print"]
    assert not calls, f"print() at lines {calls}; use logging (or click.echo in the CLI)"


def test_every_provider_module_is_named_after_its_spec() -> None:
    found = 0
    for info in pkgutil.iter_modules(providers_pkg.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{providers_pkg.__name__}.{info.name}")
        specs = [v for v in vars(module).values() if isinstance(v, ProviderSpec)]
        assert specs, f"provider module {info.name} defines no ProviderSpec"
        assert all(s.name == info.name for s in specs), (info.name, [s.name for s in specs])
        found += 1
    assert found >= 10


def test_no_utils_or_helpers_modules() -> None:
    assert not [p for p in ALL if p.stem in ("utils", "helpers", "util", "helper")]
