"""The programs in this folder are only type-checked (tests/test_typing.py runs mypy on them);
pytest must never import or collect them."""

collect_ignore_glob = ["*.py"]
