"""The package dependency direction written in README.md ("Architecture") holds: import-linter
contracts in pyproject.toml, and nothing in webapp/ imports workers/."""

from __future__ import annotations

import ast
import logging
import tomllib
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def _contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"]


def test_the_import_linter_contracts_are_kept(monkeypatch):
    monkeypatch.chdir(ROOT)
    # import-linter configures logging with dictConfig, which disables every logger that
    # exists (the app's security log among them) for the tests that run after this one.
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    disabled = {logger.name: logger.disabled for logger in loggers}
    try:
        assert lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0
    finally:
        for logger in loggers:
            logger.disabled = disabled[logger.name]


def test_every_webapp_package_has_a_place_in_the_layers():
    """A new package must be put in a layer, or the contract would not see its cycles."""
    (layers,) = [c for c in _contracts() if c["type"] == "layers"]
    placed = {
        name.strip().strip("()")
        for layer in layers["layers"]
        for name in layer.replace(":", "|").split("|")
    }
    packages = {path.parent.name for path in (ROOT / "webapp").glob("*/__init__.py")}
    assert packages - {"static", "templates"} <= placed, packages - placed


def test_nothing_in_webapp_imports_workers():
    found = []
    for path in (ROOT / "webapp").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            found += [f"{path}:{node.lineno}" for n in names if n.split(".")[0] == "workers"]
    assert found == []
