"""Installed for real, in a fresh virtual environment, beside anything.

The connector's adapters import as ``connector_adapters``: the index has an unrelated
package named ``adapters``, and the two must live in one environment. A plugin that fails
to import must not take the other commands down.

Slow-ish (one venv per run, the packages come from pip's cache): marked ``install``; it
runs by default and in CI. ``pytest -m "not install"`` leaves it out while developing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parent.parent
SOURCE_IGNORE = shutil.ignore_patterns(".venv", "build", "dist", "*.egg-info", ".git",
                                       "__pycache__", ".*_cache", "tests", "bench")


class Venv:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.bin = path / "bin"

    def pip(self, *args: str) -> None:
        """Install with this interpreter's pip into the venv (a venv without pip is
        made in a second)."""
        subprocess.run([sys.executable, "-m", "pip", "--python", str(self.bin / "python"),
                        "install", "-q", *args], check=True, capture_output=True)

    def python(self, code: str) -> str:
        done = subprocess.run([str(self.bin / "python"), "-c", code], check=True,
                              capture_output=True, text=True)
        return done.stdout.strip()

    def connector(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
        return subprocess.run([str(self.bin / "connector"), *args], capture_output=True,
                              text=True, env={**clean, "COLUMNS": "200", **env},
                              cwd=self.path, timeout=120)

    @property
    def site_packages(self) -> Path:
        return Path(self.python("import sysconfig; print(sysconfig.get_paths()['purelib'])"))


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    """A fresh venv with the PyPI package ``adapters`` (without its heavy dependencies: it
    is there to take the name, not to run) and then the connector, built from a copy of
    this tree."""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=SOURCE_IGNORE)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(base / "venv")],
                   check=True)
    env = Venv(base / "venv")
    env.pip("--no-deps", "adapters")
    env.pip(str(source))
    yield env


def test_the_index_package_named_adapters_lives_beside_the_connector(venv: Venv) -> None:
    origin = venv.python("import importlib.metadata as m, importlib.util as u; "
                         "print(m.distribution('adapters').metadata['Summary'], '|', "
                         "u.find_spec('adapters').origin)")
    assert "Transfer Learning" in origin, origin  # really the package from the index
    assert str(venv.site_packages / "adapters") in origin
    shipped = venv.python("import importlib.metadata as m; print(sorted({f.parts[0] for f in "
                          "m.distribution('collection-connector').files}))")
    assert "'adapters'" not in shipped and "'connector_adapters'" in shipped

    listed = venv.connector("adapters", "--json")
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr == ""
    for name in ('"mock"', '"poweroffice"', '"kravia"'):
        assert name in listed.stdout
    version = venv.connector("--version")
    assert version.stdout.strip() == "connector 0.1.0"


def test_a_plugin_that_raises_on_import_is_one_warning_and_the_rest_works(
        venv: Venv) -> None:
    site = venv.site_packages
    (site / "exploding_plugin.py").write_text(
        'raise ImportError("exploding_plugin needs vendor_sdk>=2")\n', encoding="utf-8")
    info = site / "exploding_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: exploding-plugin\n"
                                   "Version: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[connector]\nexploding = exploding_plugin\n",
                                           encoding="utf-8")
    try:
        listed = venv.connector("adapters")
        assert listed.returncode == 0, listed.stderr
        assert listed.stderr.splitlines() == [
            "warning: plugin 'exploding' (exploding_plugin) is skipped: it failed to import: "
            "ImportError: exploding_plugin needs vendor_sdk>=2"]
        assert "mock" in listed.stdout and "poweroffice" in listed.stdout

        helped = venv.connector("demo", "--help")  # a command another plugin added
        assert helped.returncode == 0 and "simulated days" in helped.stdout
        assert len(helped.stderr.splitlines()) == 1

        quiet = venv.connector("adapters", CONNECTOR_DISABLE_PLUGINS="exploding")
        assert quiet.returncode == 0 and quiet.stderr == ""
    finally:
        shutil.rmtree(info)
        (site / "exploding_plugin.py").unlink()
