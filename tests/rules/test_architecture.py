"""The import direction of ARCHITECTURE.md, checked on the source: pipelines → assets/sensors →
resources; resources import none of them; no product code imports the emulators (except the
CLI's emulate/demo commands)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("pipelines", "assets", "sensors", "resources")
# Only the commands that start emulators may import them, and only inside the command.
EMULATOR_IMPORTERS = {"pipelines/cli/platform.py", "pipelines/cli/demo.py"}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def product_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_resources_import_no_assets_sensors_or_pipelines():
    for path in product_files("resources"):
        assert not imported_packages(path) & {"assets", "sensors", "pipelines"}, path


def test_assets_and_sensors_never_import_pipelines_or_each_other():
    for path in product_files("assets"):
        assert not imported_packages(path) & {"pipelines", "sensors"}, path
    for path in product_files("sensors"):
        assert not imported_packages(path) & {"pipelines", "assets"}, path


def test_no_product_code_imports_the_emulators():
    for package in PRODUCT:
        for path in product_files(package):
            relative = path.relative_to(ROOT).as_posix()
            if relative in EMULATOR_IMPORTERS:
                continue
            assert "emulators" not in imported_packages(path), relative


def test_emulator_imports_in_the_cli_are_deferred_to_the_command():
    for relative in EMULATOR_IMPORTERS:
        tree = ast.parse((ROOT / relative).read_text())
        for node in tree.body:  # module level only
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                assert not any(n and n.startswith("emulators") for n in names), relative
