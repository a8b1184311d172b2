"""Meta-tests that keep the structure honest (STYLE.md habit 9)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", ["ingest", "storage"])
def test_plain_packages_never_import_prefect(package: str) -> None:
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*.py") if "prefect" in _imports(p)
    ]
    assert offenders == []


def test_ingest_does_not_depend_on_storage_or_flows() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "ingest").rglob("*.py")
        if _imports(p) & {"storage", "flows"}
    ]
    assert offenders == []


def test_migrations_never_import_live_code() -> None:
    """A migration must do the same thing whatever newsflow's code becomes later."""
    offenders = {
        p.name: sorted(_imports(p) & {"ingest", "storage", "flows"})
        for p in (ROOT / "storage" / "migrations" / "versions").glob("*.py")
        if _imports(p) & {"ingest", "storage", "flows"}
    }
    assert offenders == {}


def test_the_frozen_fingerprint_of_migration_0002_still_matches_the_live_one() -> None:
    """If this fails, ingest/dedup/neardup.py changed its signatures: add a migration that
    re-indexes every article (docs/design.md, "Deduplication and stories"), then this test."""
    import importlib.util

    from ingest.dedup.neardup import band_keys, fingerprint

    [path] = (ROOT / "storage" / "migrations" / "versions").glob("*_0002_*.py")
    spec = importlib.util.spec_from_file_location("migration_0002", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    text = " ".join(f"word{n} plus some words of the story number {n % 7}" for n in range(40))
    live = fingerprint(text)
    assert live is not None
    assert migration.fingerprint_v1(text) == (live.signature, live.shingle_count)
    assert migration.band_keys_v1(live.signature) == band_keys(live)
    assert migration.fingerprint_v1("too short") is None


def test_feedparser_only_ever_gets_bytes() -> None:
    """feedparser.parse(str) opens URLs and local paths (feedparser/api.py, _open_resource)."""
    calls = []
    for path in (ROOT / "ingest").rglob("*.py"):
        for match in re.finditer(r"feedparser\.parse\(([^,)]*)", path.read_text(encoding="utf-8")):
            calls.append((path.name, match.group(1).strip()))
    assert calls, "expected the parse layer to call feedparser.parse"
    assert all("BytesIO" in arg for _, arg in calls), calls


def _cli_commands() -> list[str]:
    from flows.cli import main

    commands = []
    for name, command in main.commands.items():
        subcommands = getattr(command, "commands", None)
        commands += (
            [f"newsflow {name} {sub}" for sub in subcommands]
            if subcommands
            else [f"newsflow {name}"]
        )
    return commands


def test_every_cli_command_has_a_section_in_the_reference() -> None:
    """docs/cli.md has a ``## `newsflow ...` `` section for every command and subcommand."""
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^## `(newsflow [a-z ]+?)`$", reference, flags=re.MULTILINE))
    assert len(_cli_commands()) >= 10
    assert sorted(set(_cli_commands()) - headings) == []
    assert sorted(headings - set(_cli_commands())) == [], "documented commands that do not exist"


def test_every_cli_command_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(newsflow [a-z ]+?)` \|", readme, flags=re.MULTILINE))
    assert sorted(set(_cli_commands()) ^ rows) == []


def test_alembic_head_matches_models(tmp_path: Path) -> None:
    """Autogenerate against a freshly migrated database finds nothing to do."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from storage.db import ensure_schema, make_engine
    from storage.models import Base
    from storage.search import is_search_object

    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    ensure_schema(engine)
    with engine.connect() as conn:
        # Same filter as migrations/env.py: the FTS5 index is DDL the models cannot describe.
        opts = {"include_name": lambda name, _type, _parents: not is_search_object(name)}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    engine.dispose()
    assert diff == []


def test_every_prefect_yaml_entrypoint_is_a_flow() -> None:
    import importlib

    import yaml
    from prefect import Flow

    config = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    names = set()
    for deployment in config["deployments"]:
        path, _, attr = deployment["entrypoint"].partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, attr)
        assert isinstance(flow, Flow), deployment["entrypoint"]
        names.add(f"{flow.name}/{deployment['name']}")
    assert names == {"ingest/scheduled", "backfill/manual", "maintenance/daily"}


def _module_map() -> dict[str, set[str]]:
    """``### `pkg/` `` sections of docs/architecture.md and the modules their tables list."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    sections: dict[str, set[str]] = {}
    for block in re.split(r"\n### ", text)[1:]:
        heading, _, body = block.partition("\n")
        package = re.fullmatch(r"`([\w/]+)/`", heading.strip())
        if package:
            rows = re.findall(r"^\| `([\w/.]+)` \|", body, flags=re.MULTILINE)
            sections[package.group(1)] = set(rows)
    return sections


def _modules() -> list[tuple[str, str]]:
    """(package section, module as listed) for every module of ingest/, storage/ and flows/."""
    found = []
    for top in ("ingest", "storage", "flows"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if rel.parts[:2] == ("storage", "migrations") or rel == Path(top, "__init__.py"):
                continue
            # a subpackage of ingest/ has a section of its own; elsewhere a subfolder is a row
            section = "/".join(rel.parts[:2]) if top == "ingest" and len(rel.parts) > 2 else top
            inner = Path(*rel.parts[len(section.split("/")) :])
            if inner.name == "__init__.py":
                if inner.parent == Path("."):
                    continue  # the section itself
                listed = f"{inner.parent}/"
            else:
                listed = str(inner)
            found.append((section, listed))
    return found


@pytest.mark.parametrize(
    ("section", "module"), [pytest.param(*m, id="/".join(m)) for m in _modules()]
)
def test_every_module_is_in_the_architecture_map(section: str, module: str) -> None:
    assert module in _module_map().get(section, set()), (
        f"docs/architecture.md: no row for {module} under ### `{section}/`"
    )
