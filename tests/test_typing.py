"""Static typing of the public API, checked the way a user's own mypy sees the package.

- ``tests/typing/*.py`` are small user programs (never run, only type-checked) whose comments say
  what mypy must report: ``# E: <text>`` on a line means an error on that line whose
  ``message  [code]`` contains ``<text>`` (several ``# E:`` may share a line);
  ``reveal_type(expr)  # R: <type>`` means the revealed type, module qualifiers removed
  (``aikit.objects.OpenAIChoice | None`` -> ``OpenAIChoice | None``), is exactly ``<type>``.
  Any other error is a failure, and so is an expected error that does not come.
- Every ```` ```python ```` block of README.md passes ``mypy --strict``; a block preceded by
  ``<!-- typing: skip -->`` is a fragment and is skipped.
- Every ``samples/*.py`` passes ``mypy --strict``.
- mypy, run outside the repository, finds the installed package (``pip install -e .``).

mypy runs as a subprocess, once per kind of check (four runs in all), from a temporary
directory outside the repository, with an empty config file (so ``[tool.mypy]`` of pyproject.toml
does not apply) and without MYPYPATH or PYTHONPATH: ``aikit`` is found only through the
installed distribution, as in a user's project.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tokenize
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TYPING = REPO / "tests" / "typing"
SAMPLES = REPO / "samples"
README = REPO / "README.md"

PROGRAMS = sorted(p for p in TYPING.glob("*.py") if p.name != "conftest.py")

MYPY_FLAGS = (
    "--strict",
    "--python-version", "3.10",
    "--no-incremental",
    "--show-error-codes",
    "--no-error-summary",
    "--hide-error-context",
    # Parsing aids: absolute paths whatever the cwd, no colours, one line per message.
    "--show-absolute-path",
    "--no-color-output",
    "--no-pretty",
)
#: Samples import PySide6 (the ``qt`` extra); a checkout without it must still pass.
QT_SECTIONS = {
    "mypy-PySide6.*": {"ignore_missing_imports": "True"},
    "mypy-shiboken6.*": {"ignore_missing_imports": "True"},
}
#: Variables that would let mypy find aikit (or behave) otherwise than in a user's project.
ENV_DROPPED = ("MYPYPATH", "PYTHONPATH", "MYPY_CACHE_DIR", "MYPY_FORCE_COLOR", "FORCE_COLOR")
MYPY_TIMEOUT = 600

_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+): (?P<severity>error|note): (?P<text>.*)$")
_REVEALED = re.compile(r'^Revealed type is "(?P<type>.*)"$')
_QUALIFIER = re.compile(r"\b(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])")
_EXPECT_ERROR = re.compile(r"#\s*E:\s*(?P<text>.*?)\s*(?=#\s*[ER]:|$)")
_EXPECT_REVEAL = re.compile(r"#\s*R:\s*(?P<type>.*?)\s*(?=#\s*[ER]:|$)")
_FENCE_PYTHON = re.compile(r"^```python\s*$")
_FENCE_END = re.compile(r"^```\s*$")
SKIP_MARK = "<!-- typing: skip -->"


# -- running mypy ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    path: Path
    line: int
    severity: str  # "error" or "note"
    text: str  # "message  [code]" for an error

    @property
    def revealed(self) -> str | None:
        match = _REVEALED.match(self.text) if self.severity == "note" else None
        return normalize_type(match["type"]) if match else None


@dataclass
class MypyRun:
    command: list[str]
    cwd: Path
    returncode: int
    stdout: str
    stderr: str
    messages: list[Message] = field(default_factory=list)
    #: Output lines that are not ``file:line: error|note: ...`` (crashes, file-level errors).
    other: list[str] = field(default_factory=list)

    def for_file(self, path: Path) -> list[Message]:
        target = path.resolve()
        return [m for m in self.messages if m.path == target]

    def problems_outside(self, paths: Iterable[Path]) -> list[str]:
        """What the run reported that belongs to none of ``paths``: errors in other files,
        unparsed output, a crash (exit status 2)."""
        mine = {p.resolve() for p in paths}
        out = [f"{m.path}:{m.line}: {m.severity}: {m.text}" for m in self.messages
               if m.severity == "error" and m.path not in mine]
        out += [f"(mypy output) {line}" for line in self.other]
        if self.returncode not in (0, 1):
            out.append(f"mypy exited {self.returncode}; stderr:\n{self.stderr}")
        return out

    def describe(self) -> str:
        return f"$ (cd {self.cwd} && {' '.join(self.command)})"


def normalize_type(text: str) -> str:
    """``aikit._chat_results.OpenAIChatCompletionsResult`` -> ``OpenAIChatCompletionsResult``,
    ``builtins.str`` -> ``str``, whitespace collapsed."""
    return " ".join(_QUALIFIER.sub("", text).split())


def write_config(directory: Path, sections: dict[str, dict[str, str]] | None = None) -> Path:
    """An ini config with only ``sections``: no project setting applies."""
    lines = ["[mypy]"]
    for name, options in (sections or {}).items():
        lines += ["", f"[{name}]", *(f"{key} = {value}" for key, value in options.items())]
    path = directory / "mypy.ini"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def outside_repo(directory: Path) -> Path:
    resolved = directory.resolve()
    assert not resolved.is_relative_to(REPO), (
        f"mypy must run outside the repository, but the temporary directory is {resolved}"
    )
    return resolved


def run_mypy(
    files: Sequence[Path], workdir: Path, sections: dict[str, dict[str, str]] | None = None
) -> MypyRun:
    """``python -m mypy --strict ...`` on ``files``, from ``workdir`` (outside the repo)."""
    cwd = outside_repo(workdir)
    config = write_config(cwd, sections)
    command = [sys.executable, "-m", "mypy", *MYPY_FLAGS, "--config-file", str(config),
               *(str(f) for f in files)]
    env = {k: v for k, v in os.environ.items() if k.upper() not in ENV_DROPPED}
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=MYPY_TIMEOUT)
    run = MypyRun(command, cwd, proc.returncode, proc.stdout, proc.stderr)
    for line in proc.stdout.splitlines():
        match = _LINE.match(line)
        if match:
            run.messages.append(Message(Path(match["path"]).resolve(), int(match["line"]),
                                        match["severity"], match["text"]))
        elif line.strip():
            run.other.append(line)
    return run


# -- expectations in the programs -------------------------------------------------------------


@dataclass
class Expectations:
    errors: dict[int, list[str]] = field(default_factory=dict)
    reveals: dict[int, str] = field(default_factory=dict)


def read_expectations(path: Path) -> Expectations:
    """The ``# E:`` and ``# R:`` of the program's comments (not of its strings)."""
    found = Expectations()
    with path.open("rb") as source:
        for token in tokenize.tokenize(source.readline):
            if token.type != tokenize.COMMENT:
                continue
            number, comment = token.start[0], token.string
            errors = [m["text"] for m in _EXPECT_ERROR.finditer(comment) if m["text"]]
            if errors:
                found.errors.setdefault(number, []).extend(errors)
            reveal = _EXPECT_REVEAL.search(comment)
            if reveal:
                found.reveals[number] = normalize_type(reveal["type"])
    return found


def mismatches(path: Path, messages: list[Message]) -> list[str]:
    """Every difference between what ``path`` expects and what mypy said about it."""
    expected = read_expectations(path)
    errors: dict[int, list[str]] = defaultdict(list)
    reveals: dict[int, list[str]] = defaultdict(list)
    for m in messages:
        if m.severity == "error":
            errors[m.line].append(m.text)
        elif m.revealed is not None:
            reveals[m.line].append(m.revealed)
    name = path.name
    out: list[str] = []
    for line in sorted(set(errors) | set(expected.errors)):
        wanted, got = expected.errors.get(line, []), errors.get(line, [])
        for text in wanted:
            if not any(text in message for message in got):
                shown = "; ".join(got) if got else "no error"
                out.append(f"{name}:{line}: expected an error containing {text!r}, got: {shown}")
        for message in got:
            if not any(text in message for text in wanted):
                out.append(f"{name}:{line}: unexpected error: {message}")
    for line in sorted(set(reveals) | set(expected.reveals)):
        want, got_types = expected.reveals.get(line), reveals.get(line, [])
        if want is None:
            out.append(f"{name}:{line}: reveal_type without '# R:': revealed {got_types}")
        elif got_types != [want]:
            shown = " / ".join(got_types) if got_types else "no revealed type"
            out.append(f"{name}:{line}: expected revealed type {want!r}, got {shown!r}")
    return out


@pytest.fixture(scope="module")
def programs_run(tmp_path_factory: pytest.TempPathFactory) -> MypyRun:
    """One mypy run over every program of tests/typing."""
    assert PROGRAMS, f"no program in {TYPING}"
    return run_mypy(PROGRAMS, tmp_path_factory.mktemp("mypy-programs"))


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_typing_program(program: Path, programs_run: MypyRun) -> None:
    problems = mismatches(program, programs_run.for_file(program))
    problems += programs_run.problems_outside(PROGRAMS)
    assert not problems, (
        f"mypy --strict disagrees with the expectations of tests/typing/{program.name} "
        f"({len(problems)}):\n  " + "\n  ".join(problems) + f"\n{programs_run.describe()}"
    )


# -- README examples ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    number: int  # 1-based, among the README's python blocks
    first_line: int  # README line of the block's first code line
    code: str
    skipped: bool


def readme_python_blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if not _FENCE_PYTHON.match(lines[i]):
            i += 1
            continue
        start = i + 1
        end = start
        while end < len(lines) and not _FENCE_END.match(lines[end]):
            end += 1
        before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        blocks.append(Block(len(blocks) + 1, start + 1, "\n".join(lines[start:end]) + "\n",
                            before == SKIP_MARK))
        i = end + 1
    return blocks


def test_readme_python_blocks_pass_mypy_strict(tmp_path: Path) -> None:
    blocks = readme_python_blocks(README.read_text(encoding="utf-8"))
    checked = [b for b in blocks if not b.skipped]
    summary = (f"README.md: {len(blocks)} python blocks, {len(checked)} checked, "
               f"{len(blocks) - len(checked)} skipped ({SKIP_MARK})")
    print(summary)
    assert checked, summary
    workdir = tmp_path / "readme"
    workdir.mkdir()
    files: dict[Path, Block] = {}
    for block in checked:
        path = workdir / f"readme_block_{block.number}.py"
        path.write_text(block.code, encoding="utf-8")
        files[path.resolve()] = block
    run = run_mypy(list(files), tmp_path)
    problems = []
    for m in sorted(run.messages, key=lambda m: (str(m.path), m.line)):
        source = files.get(m.path)
        if m.severity != "error":
            continue
        if source is None:
            problems.append(f"{m.path}:{m.line}: {m.text}")
        else:
            problems.append(f"README.md:{source.first_line + m.line - 1} "
                            f"(python block {source.number}, line {m.line}): {m.text}")
    problems += [f"(mypy output) {line}" for line in run.other]
    if run.returncode not in (0, 1):
        problems.append(f"mypy exited {run.returncode}; stderr:\n{run.stderr}")
    assert not problems, (
        f"{summary}; mypy --strict reports ({len(problems)}):\n  " + "\n  ".join(problems)
        + f"\n{run.describe()}"
    )


# -- samples --------------------------------------------------------------------------------


def test_samples_pass_mypy_strict(tmp_path: Path) -> None:
    samples = sorted(SAMPLES.glob("*.py"))
    assert samples
    run = run_mypy(samples, tmp_path, QT_SECTIONS)
    problems = run.problems_outside([])  # every error is a problem
    assert not problems, (
        f"mypy --strict on samples/*.py ({len(problems)}):\n  " + "\n  ".join(problems)
        + f"\n{run.describe()}"
    )


# -- the installed package --------------------------------------------------------------------


def test_mypy_finds_the_installed_package(tmp_path: Path) -> None:
    """What the README's ``pip install -e .`` promises: a user's mypy, run in the user's own
    folder, finds aikit and its types (py.typed) through the installed distribution."""
    program = tmp_path / "uses_aikit.py"
    program.write_text("import aikit\n\nreveal_type(aikit.OpenAI)\n", encoding="utf-8")
    assert not (tmp_path / "aikit").exists()
    run = run_mypy([program], tmp_path)
    errors = [f"{m.line}: {m.text}" for m in run.messages if m.severity == "error"]
    revealed = [m.revealed for m in run.for_file(program) if m.revealed is not None]
    detail = f"\n{run.describe()}\n{run.stdout}{run.stderr}"
    assert not errors, "mypy does not find the installed aikit:\n  " + "\n  ".join(errors) + detail
    assert run.returncode == 0, detail
    assert len(revealed) == 1 and "OpenAI" in revealed[0] and revealed[0] != "Any", (
        f"aikit.OpenAI revealed as {revealed}" + detail
    )
