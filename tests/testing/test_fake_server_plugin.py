"""The pytest plugin: fixtures, and loading it through both the entry point and pytest_plugins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import aikit.testing
from aikit.testing import FakeOpenAIServer
from aikit.testing.plugin import TEST_API_KEY

ROOT = Path(aikit.testing.__file__).resolve().parents[2]

PLUGIN_USER_TESTS = """
import aikit
import requests


def test_server_fixture(aikit_server):
    assert aikit_server.api_key == "sk-test-aikit-0000"
    headers = {"Authorization": "Bearer " + aikit_server.api_key}
    assert requests.get(aikit_server.url + "/models", headers=headers).status_code == 200


def test_client_fixture(aikit_client, aikit_server):
    assert aikit_client.kwargs == {"api_key": aikit_server.api_key, "base_url": aikit_server.url}
    assert not aikit_client.closed
    pytest_state["client"] = aikit_client


def test_client_was_closed():
    assert pytest_state["client"].closed


pytest_state = {}
"""

STUB_CLIENT = '''
import aikit


class StubOpenAI:
    """Stands in for aikit.OpenAI: the plugin test checks the wiring, not the client."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.closed = False

    def close(self):
        self.closed = True


aikit.OpenAI = StubOpenAI
'''


# Installed plugins that only slow the subprocess down; "-p no:" on an absent one is harmless.
UNRELATED_PLUGINS = ("cacheprovider", "randomly", "hypothesispytest", "benchmark", "anyio", "xdist")


def run_pytest(tmp_path: Path, conftest: str, *args: str, entry_point: bool) -> None:
    """Run pytest in a subprocess on a small project that uses the fixtures."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "conftest.py").write_text(conftest + STUB_CLIENT)
    (project / "test_uses_fixtures.py").write_text(PLUGIN_USER_TESTS)
    paths = [str(ROOT)]
    if entry_point:  # what an installed aikit provides
        site = tmp_path / "site"
        dist = site / "aikit_plugin_probe-0.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: aikit-plugin-probe\nVersion: 0\n"
        )
        (dist / "entry_points.txt").write_text("[pytest11]\naikit = aikit.testing.plugin\n")
        paths.append(str(site))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths), PYTEST_ADDOPTS="")
    env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            f"--rootdir={project}",
            *(arg for name in UNRELATED_PLUGINS for arg in ("-p", f"no:{name}")),
            *args,
            str(project),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_entry_point_and_pytest_plugins_together(tmp_path: Path) -> None:
    conftest = 'pytest_plugins = ["aikit.testing.plugin"]\n'
    run_pytest(tmp_path, conftest, entry_point=True)


def test_dash_p_then_entry_point(tmp_path: Path) -> None:
    run_pytest(tmp_path, "", "-p", "aikit.testing.plugin", entry_point=True)


def test_aikit_server_fixture_in_this_suite(aikit_server: FakeOpenAIServer) -> None:
    assert aikit_server.api_key == TEST_API_KEY
    headers = {"Authorization": f"Bearer {TEST_API_KEY}"}
    with requests.Session() as http:
        http.trust_env = False
        assert http.get(aikit_server.url + "/models", headers=headers).status_code == 200


def test_aikit_client_fixture_talks_to_the_server(
    aikit_server: FakeOpenAIServer, request: pytest.FixtureRequest
) -> None:
    if not hasattr(sys.modules.get("aikit"), "OpenAI"):
        pytest.skip("aikit.OpenAI is not available")
    client = request.getfixturevalue("aikit_client")
    result = client.models.list()
    assert result.success, result.errors
    assert aikit_server.requests[-1].headers["authorization"] == f"Bearer {TEST_API_KEY}"
