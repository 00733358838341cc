"""The benchmark script runs and reports (a smoke test: it asserts nothing about timing)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"

pytestmark = pytest.mark.slow


def test_bench_quick_import_and_sync_report_ratios() -> None:
    env = dict(os.environ)
    env.pop("AIKIT_LOG", None)
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--only", "import,sync"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {
        line.split()[0]: line
        for line in done.stdout.splitlines()
        if re.match(r"^(sync|import)\s", line)
    }
    assert set(rows) == {"sync", "import"}, done.stdout
    for name, line in rows.items():
        assert re.search(r"(PASS|MISS|SKIP)$", line), f"{name}: no verdict in {line!r}"
        if line.endswith("SKIP"):  # import: openai is not installed, nothing to compare with
            assert name == "import", line
            continue
        assert re.search(r"ratio\s+\d+\.\d+x", line), f"{name}: no ratio in {line!r}"


def test_bench_quick_responses_row_reports_a_ratio() -> None:
    """The Responses stream the bench server sends is read by both sides (openai-python's
    models accept every event; both count the same events and deltas), or skips."""
    env = dict(os.environ)
    env.pop("AIKIT_LOG", None)
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--only", "responses"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("responses ")]
    assert len(lines) == 1, done.stdout
    line = lines[0]
    assert re.search(r"(PASS|MISS|SKIP)$", line), f"no verdict in {line!r}"
    if not line.endswith("SKIP"):  # SKIP: openai is not installed
        assert re.search(r"ratio\s+\d+\.\d+x", line), f"no ratio in {line!r}"


def test_bench_quick_bulk_row_reports_wall_time_429s_and_attempts() -> None:
    """The bulk row runs ``aikit batch run`` against the rate-limited simulator and reports
    its wall time against the limit's ideal time, its 429 share and attempts (and the
    baseline's, or SKIP without openai); every line of the job succeeded on aikit's side."""
    env = dict(os.environ)
    env.pop("AIKIT_LOG", None)
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--only", "bulk"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("bulk ")]
    assert len(lines) == 1, done.stdout
    line = lines[0]
    assert re.search(r"(PASS|MISS|SKIP)$", line), f"no verdict in {line!r}"
    assert re.search(r"aikit\s+\d+\.\d+x, \d+\.\d+% 429, \d+ att", line), line
    assert re.search(r"ratio\s+\d+\.\d+x", line), f"no ratio in {line!r}"
    assert re.search(r"aikit batch run .*: [\d.]+ s = [\d.]+x ideal; (\d+)/\1 succeeded",
                     done.stdout), done.stdout
