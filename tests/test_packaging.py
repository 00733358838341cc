"""What a built wheel holds: every package of aikit (a folder without ``__init__.py`` would
be left out by setuptools' package discovery and only work from a checkout)."""

from __future__ import annotations

import pathlib
import re

import aikit

ROOT = pathlib.Path(aikit.__file__).parent


def test_every_folder_of_modules_is_a_package() -> None:
    missing = [
        str(folder.relative_to(ROOT.parent))
        for folder in [ROOT, *ROOT.rglob("*")]
        if folder.is_dir() and folder.name != "__pycache__" and any(folder.glob("*.py"))
        and not (folder / "__init__.py").exists()
    ]
    assert missing == []


REPO = pathlib.Path(__file__).resolve().parent.parent


def distribution_name() -> str:
    """``[project] name`` of pyproject.toml (read by hand: tomllib is 3.11+)."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r'^\[project\]\n(?:.*\n)*?name = "([^"]+)"', text, re.M)
    assert found, "pyproject.toml has no [project] name"
    return found.group(1)


def test_install_lines_name_the_distribution() -> None:
    """Every ``pip install 'NAME[extra]'`` a user is told to run names this distribution:
    ``aikit`` on the package index is an unrelated project (a dependency-confusion trap)."""
    name = distribution_name()
    assert name != "aikit"
    texts = [REPO / "README.md", *(REPO / "samples").glob("*.py"),
             *(REPO / "src" / "aikit").rglob("*.py"), *(REPO / "docs").rglob("*.md")]
    told: list[tuple[str, str]] = []
    for path in texts:
        for line in path.read_text(encoding="utf-8").splitlines():
            after = line.split("pip install", 1)[1] if "pip install" in line else ""
            if "[" in after and not after.lstrip().startswith("-e"):
                told.append((path.name, line.strip()))
    assert told, "no install line found"
    wrong = [(f, line) for f, line in told if f"{name}[" not in line]
    assert wrong == []
