"""A plain (non-editable) install carries its migrations: `abparts migrate` works from anywhere."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import psycopg
import pytest
from alembic.script import ScriptDirectory

from api.runtime.database import alembic_config
from tests.faults.harness import service_env, subprocess_url

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("ledger", "projections", "api", "alembic", "pyproject.toml", "README.md")


def test_every_package_directory_is_listed_for_the_wheel() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("ledger", "projections", "api")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found | {"abparts_migrations", "abparts_migrations.versions"} == listed


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.db
@pytest.mark.slow
def test_a_wheel_installed_in_a_fresh_venv_migrates_an_empty_database(
    tmp_path: Path, empty_db_url: str
) -> None:
    # Built from a copy, so the build leaves nothing in the source tree.
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", wheels, source, cwd=tmp_path)
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", *wheels.glob("*.whl"), cwd=tmp_path)
    # The dependencies come from the test run's own environment, added after the venv's own
    # packages; its .pth files (the editable install of this source tree) are not processed.
    purelib = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).strip()
    )
    (purelib / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    where = _run(
        python, "-c", "import api, abparts_migrations as m; print(api.__file__, *m.__path__)", cwd=tmp_path
    )
    assert all(Path(p).is_relative_to(venv) for p in where.split()), where
    # The ledger page is served from the package: every file of its static folder is installed.
    page = ROOT / "api" / "http" / "ui" / "static"
    installed = Path(where.split()[0]).parent / "http" / "ui" / "static"
    missing = [
        str(f.relative_to(page))
        for f in page.rglob("*")
        if f.is_file() and not (installed / f.relative_to(page)).is_file()
    ]
    assert missing == [], f"the wheel lacks the ledger page's {missing}"
    env = service_env(subprocess_url(empty_db_url))
    _run(venv / "bin" / "abparts", "migrate", cwd=tmp_path, env=env)

    head = ScriptDirectory.from_config(alembic_config(empty_db_url)).get_current_head()
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
