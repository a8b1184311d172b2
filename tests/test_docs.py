"""The documentation site builds with ``mkdocs build --strict``; a broken link or anchor fails.

docs/configuration.md has a row for every ``Settings`` field, with the code's default.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flows.settings import Settings

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


def _configuration_rows() -> dict[str, str]:
    """``| `NEWSFLOW_X` | default | meaning |`` rows of docs/configuration.md: name -> default."""
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(NEWSFLOW_\w+)` \| ([^|]*) \|", text, flags=re.MULTILINE)
    return {name: default.strip() for name, default in rows}


def _documented_default(value: object) -> str | None:
    """How a default is written in the table; None for a computed one (unset, one per core)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value}`"


@pytest.mark.parametrize("field", [pytest.param(f, id=f) for f in Settings.model_fields])
def test_every_setting_is_in_the_configuration_page(field: str) -> None:
    rows = _configuration_rows()
    variable = f"NEWSFLOW_{field.upper()}"
    assert variable in rows, f"docs/configuration.md has no row for {variable}"
    default = _documented_default(Settings.model_fields[field].default)
    if default is not None:
        assert rows[variable] == default, f"{variable}: the code's default is {default}"


def test_the_configuration_page_documents_no_setting_we_do_not_have() -> None:
    known = {f"NEWSFLOW_{field.upper()}" for field in Settings.model_fields}
    assert len(_configuration_rows()) >= 10
    assert sorted(set(_configuration_rows()) - known) == []
