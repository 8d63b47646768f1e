"""requirements.lock pins every package `make install` puts in the venv, the dev and demo extras too
(README: "Dependencies")."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = project["dependencies"] + [
        text for group in project["optional-dependencies"].values() for text in group
    ]
    return [Requirement(text) for text in texts]


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, separator, version = line.partition("==")
        assert separator and version.strip(), f"not an exact pin: {line!r}"
        pins[canonicalize_name(name)] = version.strip()
    return pins


def test_every_declared_dependency_is_pinned_to_a_version_it_allows():
    pins = _lock()
    unpinned = [str(r) for r in _declared() if canonicalize_name(r.name) not in pins]
    assert unpinned == []
    refused = [
        f"{r} but the lock has {pins[canonicalize_name(r.name)]}"
        for r in _declared()
        if not r.specifier.contains(pins[canonicalize_name(r.name)], prereleases=True)
    ]
    assert refused == []


def _needs(requirement: Requirement) -> list[Requirement]:
    """What the installed distribution needs, with the extras asked for."""
    found = []
    for text in metadata.requires(requirement.name) or []:
        needed = Requirement(text)
        extras = requirement.extras or {""}
        if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in extras):
            found.append(needed)
    return found


def test_everything_the_dependencies_pull_in_is_pinned_too():
    """A package left out of the lock would float to whatever PyPI has on the day."""
    pins = _lock()
    seen: set[tuple[str, frozenset]] = set()
    waiting = _declared()
    missing = []
    while waiting:
        requirement = waiting.pop()
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        if key[0] not in pins:
            missing.append(str(requirement))
            continue
        waiting += _needs(requirement)
    assert missing == []
