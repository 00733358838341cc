"""samples/dask_bulk.py: Dask worker processes share one rate budget (an SQLite store).

Run as a user would, with ``--self-test``, against its embedded rate-limited simulator: every
prompt gets its echo, the paced rate stays within 5 % of the budget and (almost) no 429 comes
back. Needs the optional ``dask`` extra (``distributed``); skipped without it.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.test_samples import REPO, SAMPLES, check_run, sample_env

#: Starting a LocalCluster of two processes takes a few seconds; the job itself ~10 s.
TIMEOUT = 180

needs_distributed = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None,
    reason="distributed is not installed (pip install -e '.[dask]')",
)


@needs_distributed
def test_dask_bulk_self_test() -> None:
    proc = subprocess.run(
        [sys.executable, str(SAMPLES / "dask_bulk.py"), "--self-test"],
        env=sample_env(), cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT,
    )
    print(f"$ python samples/dask_bulk.py --self-test  -> exit {proc.returncode}\n{proc.stdout}")
    if proc.stderr:
        print(f"[stderr]\n{proc.stderr[-5000:]}")
    check_run(proc, "dask_bulk", "one budget of 600 requests/min", "done 150, failed 0",
              "simulator answered 0 x 429", "0 answers not the echo", "dask_bulk: OK")


def test_dask_bulk_says_how_to_install_distributed_when_it_is_missing() -> None:
    """Where ``distributed`` cannot be imported, the sample says which extra to install."""
    blocker = (
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'distributed' or name.startswith('distributed.'):\n"
        "            raise ImportError('blocked for the test')\n"
        "        return None\n"
        "sys.meta_path.insert(0, _Block())\n"
        "sys.argv = ['dask_bulk.py', '--self-test']\n"
        f"sys.path.insert(0, {str(SAMPLES)!r})\n"
        "import runpy\n"
        f"runpy.run_path({str(SAMPLES / 'dask_bulk.py')!r}, run_name='__main__')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", blocker], env=sample_env(), cwd=REPO, capture_output=True,
        text=True, timeout=60,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "pip install -e '.[dask]'" in proc.stderr
    assert proc.stdout == ""
