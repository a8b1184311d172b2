"""The documentation site builds with ``mkdocs build --strict``; a broken link or anchor fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# mkdocs-material is in the dev dependency group, which `uv sync` installs by default.
ROOT = Path(__file__).resolve().parent.parent


def _build(project: Path, site: Path) -> subprocess.CompletedProcess[str]:
    # Not --quiet: it hides warnings from the strict-mode count, and the build passes.
    return subprocess.run(
        [
            *(sys.executable, "-m", "mkdocs", "build", "--strict"),
            *("--config-file", str(project / "mkdocs.yml"), "--site-dir", str(site)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        # Material prints a notice about its successor on every build; it is not a warning.
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    built = _build(ROOT, tmp_path / "site")
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "architecture" / "index.html").is_file()
    assert not (tmp_path / "site" / "screenshots.py").exists()


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param("[the model](no-such-page.md)", id="missing-page"),
        pytest.param("[a column](data-model.md#no-such-heading)", id="missing-anchor"),
    ],
)
def test_a_broken_link_fails_the_build(tmp_path: Path, broken: str) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "docs", project / "docs")
    shutil.copy(ROOT / "mkdocs.yml", project / "mkdocs.yml")
    page = project / "docs" / "design.md"
    page.write_text(page.read_text(encoding="utf-8") + f"\nSee {broken}.\n", encoding="utf-8")
    built = _build(project, tmp_path / "site")
    assert built.returncode != 0
    target = broken.partition("](")[2].rstrip(")").partition("#")[0]
    assert f"Doc file 'design.md' contains a link '{target}" in built.stderr, built.stderr
