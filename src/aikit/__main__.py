"""``python -m aikit``."""

from .cli import main

raise SystemExit(main())
