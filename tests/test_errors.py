"""``ErrorKind``: every kind documented, compared as plain text, API errors marked as such."""

from __future__ import annotations

import ast
import inspect
import pickle
import textwrap

import pytest

from aikit import OpenAI
from aikit.errors import ErrorKind, OpenAIError
from aikit.testing import FakeOpenAIServer


def _documented_members() -> dict[str, str]:
    """Member name -> its ``#:`` comment, read from the class source."""
    source = textwrap.dedent(inspect.getsource(ErrorKind))
    lines = source.splitlines()
    docs: dict[str, str] = {}
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            comment: list[str] = []
            row = node.lineno - 2
            while row >= 0 and lines[row].strip().startswith("#:"):
                comment.insert(0, lines[row].strip()[2:].strip())
                row -= 1
            docs[node.targets[0].id] = " ".join(comment)
    return docs


def test_every_kind_is_documented() -> None:
    docs = _documented_members()
    assert set(docs) == {kind.name for kind in ErrorKind}
    undocumented = [name for name, text in docs.items() if len(text) < 10]
    assert not undocumented, f"ErrorKind members without a #: comment: {undocumented}"
    assert ErrorKind.__doc__ and "str" in ErrorKind.__doc__


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_kinds_compare_as_text(kind: ErrorKind) -> None:
    error = OpenAIError("x", kind=kind.value)
    assert error.kind is kind
    assert error.kind == kind.value and kind.value == error.kind
    assert str(error.kind) == kind.value and f"{error.kind}" == kind.value
    assert error.kind in (kind.value,) and {kind.value: 1}[error.kind] == 1
    assert pickle.loads(pickle.dumps(error.kind)) is kind


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        OpenAIError("x", kind="timed_out")


def test_predicates_follow_the_kind() -> None:
    assert OpenAIError("t", kind="timeout").is_timeout_error
    assert OpenAIError("t", kind="timeout").is_connection_error
    assert OpenAIError("c", kind=ErrorKind.CONNECTION).is_connection_error
    assert OpenAIError("x", kind="terminated").is_terminated
    assert not OpenAIError("x", kind="terminated").is_connection_error
    assert OpenAIError("x").kind is ErrorKind.INTERNAL
    assert OpenAIError("x", status=500).kind is ErrorKind.API


def test_from_response_is_an_api_error() -> None:
    for body in ({"error": {"message": "m"}}, {"detail": "d"}, "text", None, {"error": "e"}):
        error = OpenAIError.from_response(503, "Service Unavailable", {}, body)
        assert error.kind is ErrorKind.API and error.kind == "api"


def test_http_errors_over_a_socket_are_api_errors(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.fail_next(400)
    error = aikit_client.models.list().errors[0]
    assert (error.status, error.kind) == (400, ErrorKind.API)
