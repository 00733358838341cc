"""``python -m aikit.testing``: run the fake OpenAI server in the foreground."""

from __future__ import annotations

import sys

from ._serve import main

if __name__ == "__main__":
    sys.exit(main())
