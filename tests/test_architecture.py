"""The package dependency direction written in README.md ("Architecture") holds: import-linter
contracts in pyproject.toml, and nothing in webapp/ imports workers/; modules stay short and
there is one paginator."""

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


def _attribute_writes(path: Path):
    """Yield (line, target) for every assignment to an attribute in the module at ``path``."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute):
                yield node.lineno, target


SALES_OWNED = {
    "procurement_status",
    "fulfilment_status",
    "payment_status",
    "amount_paid",
    "ready_to_invoice_at",
    "invoiced_at",
}


def test_only_sales_writes_a_sales_documents_statuses():
    """Other domains report what they found through sales operations (issue 12: ownership)."""
    found = []
    for path in (ROOT / "webapp").rglob("*.py"):
        if (ROOT / "webapp" / "sales") in path.parents:
            continue
        for lineno, target in _attribute_writes(path):
            owned = target.attr in SALES_OWNED or (
                target.attr == "status"
                and isinstance(target.value, ast.Name)
                and target.value.id in {"document", "sales_document", "doc"}
            )
            if owned:
                found.append(f"{path.relative_to(ROOT)}:{lineno} .{target.attr}")
    assert found == []


# Attributes named like a status that are not one: HTTP codes, and a ledger's chosen settings.
NOT_STATES = {"http_status", "response_status", "bill_status", "invoice_status"}


def test_statuses_change_only_through_their_state_machines():
    """Every stateful model declares its machine; only ``webapp.statemachine`` writes a status."""
    found = []
    for path in (ROOT / "webapp").rglob("*.py"):
        if path == ROOT / "webapp" / "statemachine.py":
            continue
        for lineno, target in _attribute_writes(path):
            if target.attr in NOT_STATES:
                continue
            if isinstance(target.value, ast.Name) and target.value.id == "self":
                continue  # an exception's or a result's own field
            if target.attr == "status" or target.attr.endswith("_status"):
                found.append(f"{path.relative_to(ROOT)}:{lineno} .{target.attr}")
    assert found == []


MAX_LINES = 600
LONGER_REASON = "Longer than our usual 600 lines"
# Modules that say at their top why they are longer; a new one must be added here on purpose.
LONGER_ON_PURPOSE = {"webapp/demo/catalog_data.py"}


def _modules():
    for top in ("webapp", "workers"):
        yield from sorted((ROOT / top).rglob("*.py"))


def test_no_module_is_longer_than_600_lines_without_saying_why():
    too_long, explained = [], set()
    for path in _modules():
        text = path.read_text()
        if text.count("\n") <= MAX_LINES:
            continue
        name = str(path.relative_to(ROOT))
        if LONGER_REASON in (ast.get_docstring(ast.parse(text)) or ""):
            explained.add(name)
        else:
            too_long.append(f"{name}: {text.count(chr(10))} lines")
    assert too_long == []
    assert explained == LONGER_ON_PURPOSE


def _hand_made_pages(path: Path):
    """Yield the lines of `path` that page results by hand instead of through page_of."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "offset":
                yield node.lineno, ".offset(...)"
            elif node.func.attr == "limit" and any(  # the extra row that tells "more follow"
                isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Add) for arg in node.args
            ):
                yield node.lineno, ".limit(n + 1)"
        elif (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Sub)
            and isinstance(node.left, ast.Name)
            and "page" in node.left.id
        ):
            yield node.lineno, f"{node.left.id} - ..."


# The API's lists page by cursor (the rows after an id, RFC-style `next_cursor`), not by page
# number: its own contract, built once in listing.list_page.
OWN_PAGINATORS = {ROOT / "webapp" / "pagination.py", ROOT / "webapp" / "api" / "listing.py"}


def test_lists_are_paged_only_by_page_of():
    """One paginator (`pagination.page_of`); a search index's page starts at `offset_of`."""
    found = [
        f"{path.relative_to(ROOT)}:{line} {what}"
        for path in _modules()
        if path not in OWN_PAGINATORS
        for line, what in _hand_made_pages(path)
    ]
    assert found == []
