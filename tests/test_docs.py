"""The documentation site (mkdocs.yml, docs/): it builds without a warning, its API reference
covers every public name, no page is left out of the navigation, the architecture notes cite
files that exist, and the guide's Python examples run against the embedded simulator.

The build needs the ``docs`` extra (``pip install -e '.[docs]'``); without MkDocs those tests
skip and say so. CI installs it (``.ci/run`` also builds the site in strict mode).
"""

from __future__ import annotations

import concurrent.futures
import importlib
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from aikit.testing import FakeOpenAIServer

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
MKDOCS_YML = REPO / "mkdocs.yml"

needs_mkdocs = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("mkdocs", "material", "mkdocstrings")),
    reason="MkDocs is not installed: pip install -e '.[docs]'",
)


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    src = str(REPO / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    env["NO_MKDOCS_2_WARNING"] = "1"  # Material's banner about MkDocs 2.0
    env.update(extra)
    return env


# -- the build -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site() -> Iterator[Path]:
    """The site built once for this module, by ``mkdocs build --strict``."""
    with tempfile.TemporaryDirectory(prefix="aikit-site-") as folder:
        out = Path(folder) / "site"
        proc = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
            cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600,
        )
        assert proc.returncode == 0, (
            f"mkdocs build --strict failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
        yield out


def inventory_names(site_dir: Path) -> set[str]:
    """The object names of a Sphinx inventory (``objects.inv``, version 2) as mkdocstrings
    writes it: four header lines, then zlib-compressed lines ``name domain:role prio uri
    display``."""
    data = (site_dir / "objects.inv").read_bytes()
    header_end = 0
    for _ in range(4):
        header_end = data.index(b"\n", header_end) + 1
    assert data.startswith(b"# Sphinx inventory version 2"), data[:40]
    text = zlib.decompress(data[header_end:]).decode("utf-8")
    return {line.split(" ", 1)[0] for line in text.splitlines() if line.strip()}


@needs_mkdocs
def test_site_builds_in_strict_mode(site: Path) -> None:
    assert (site / "index.html").is_file()
    assert (site / "objects.inv").is_file()


#: The public modules: each name of their ``__all__`` must be in the API reference.
PUBLIC_MODULES = ["aikit", "aikit.process", "aikit.testing", "aikit.types", "aikit.limits"]


@needs_mkdocs
@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_reference_covers_every_public_name(site: Path, name: str) -> None:
    """Each name of the module's ``__all__`` is documented under the name users import it
    by (``aikit.OpenAI``, not ``aikit.client.OpenAI``). A new public name goes on one of the
    pages of docs/reference/ (a ``::: aikit.Name`` line)."""
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} does not exist")
    module = importlib.import_module(name)
    documented = inventory_names(site)
    assert name in documented, f"module {name} is not in the API reference"
    missing = [n for n in module.__all__ if f"{name}.{n}" not in documented]
    assert missing == [], f"not in the API reference (docs/reference/*.md): {missing}"


# -- navigation and links --------------------------------------------------------------------


def nav_pages() -> list[str]:
    """The pages the ``nav`` of mkdocs.yml lists, as paths relative to docs/.

    Read as text (the file holds a ``!!python/name`` tag, which a safe YAML loader refuses):
    every ``.md`` path in the ``nav:`` block.
    """
    text = MKDOCS_YML.read_text(encoding="utf-8")
    block = text.split("\nnav:\n", 1)[1]
    block = re.split(r"\n(?=\S)", block, maxsplit=1)[0]  # up to the next top-level key
    return re.findall(r"([\w./-]+\.md)\s*$", block, re.M)


def test_every_page_is_in_the_nav() -> None:
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    listed = nav_pages()
    assert sorted(set(listed)) == sorted(listed), "a page is listed twice in the nav"
    assert [p for p in pages if p not in listed] == [], "pages missing from the nav"
    assert [p for p in listed if p not in pages] == [], "nav entries with no page"


def test_architecture_notes_cite_existing_files() -> None:
    """Every ``src/...`` path the architecture notes name exists (code cites these notes, and
    they cite the code: both must move together)."""
    cited: dict[str, str] = {}
    for note in sorted((DOCS / "architecture").glob("*.md")):
        for path in re.findall(r"\bsrc/[\w./-]*\w", note.read_text(encoding="utf-8")):
            cited.setdefault(path, note.name)
    assert cited, "no src/ path found in docs/architecture"
    missing = {path: note for path, note in cited.items() if not (REPO / path).exists()}
    assert missing == {}, f"cited but missing: {missing}"


# -- the examples ----------------------------------------------------------------------------

SKIP_MARK = re.compile(r"<!--\s*docs-test:\s*skip\b[^>]*-->")


def python_examples() -> list[tuple[str, int, str]]:
    """``(page, line, code)`` of each ```` ```python ```` block of the guide pages, except those
    right after a ``<!-- docs-test: skip (why) -->`` comment. The API reference has none."""
    found = []
    pages = [DOCS / "index.md", DOCS / "getting-started.md", *sorted((DOCS / "guide").glob("*.md"))]
    for page in pages:
        lines = page.read_text(encoding="utf-8").splitlines()
        index = 0
        while index < len(lines):
            if lines[index].strip() == "```python":
                end = lines.index("```", index + 1)
                previous = lines[index - 1] if index else ""
                if not SKIP_MARK.search(previous):
                    code = "\n".join(lines[index + 1:end]) + "\n"
                    found.append((page.relative_to(DOCS).as_posix(), index + 2, code))
                index = end
            index += 1
    return found


EXAMPLES = python_examples()


def _run_example(url: str, key: str, folder: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run one example as a whole program, in a fresh interpreter whose environment points
    ``OpenAI()`` at the simulator, in an empty folder (files it writes stay there)."""
    folder.mkdir(parents=True)
    script = folder / "example.py"
    script.write_text(code, encoding="utf-8")
    env = _env(OPENAI_API_KEY=key, OPENAI_BASE_URL=url, AIKIT_PROVIDERS="",
               XDG_CONFIG_HOME=str(folder), QT_QPA_PLATFORM="offscreen")
    env.pop("AIKIT_LOG", None)
    return subprocess.run([sys.executable, str(script)], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def example_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[tuple[str, int], subprocess.CompletedProcess[str]]]:
    """Every example, run concurrently (each in its own interpreter) against one simulator."""
    root = tmp_path_factory.mktemp("examples")
    with FakeOpenAIServer(api_key="sk-docs-examples") as server, \
            concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futures = {
            (page, line): pool.submit(_run_example, server.url, server.api_key or "",
                                      root / f"{index}", code)
            for index, (page, line, code) in enumerate(EXAMPLES)
        }
        yield {where: future.result() for where, future in futures.items()}


def test_the_guide_has_examples() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize(("page", "line"), [(p, n) for p, n, _ in EXAMPLES],
                         ids=[f"{p}:{n}" for p, n, _ in EXAMPLES])
def test_example_runs(
    example_runs: dict[tuple[str, int], subprocess.CompletedProcess[str]], page: str, line: int
) -> None:
    proc = example_runs[page, line]
    assert proc.returncode == 0, (
        f"docs/{page}:{line}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    )
    assert "Traceback" not in proc.stderr, f"docs/{page}:{line}:\n{proc.stderr}"
