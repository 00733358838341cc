"""Types of every method's keyword arguments, for annotations in user code.

``*Fields`` are the request fields of an endpoint, generated from OpenAI's official spec by
``tools/gen_types.py``; ``*Options`` add the call options and callbacks typed by their result.
How the layers fit together: docs/architecture/typing.md.
"""

from __future__ import annotations

from ._batch_options import *  # noqa: F403
from ._batch_options import __all__ as _batch_options_all
from ._events import *  # noqa: F403
from ._events import __all__ as _events_all
from ._options import *  # noqa: F403
from ._options import __all__ as _options_all
from ._spec import *  # noqa: F403
from ._spec import __all__ as _spec_all

__all__ = sorted([*_batch_options_all, *_events_all, *_options_all, *_spec_all])
