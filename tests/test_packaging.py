"""What a built wheel holds: every package of aikit (a folder without ``__init__.py`` would
be left out by setuptools' package discovery and only work from a checkout)."""

from __future__ import annotations

import pathlib

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
