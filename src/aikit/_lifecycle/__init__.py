"""The request lifecycle: where every call runs, from its spec to its one final result.

``runner`` (sync and callback modes, send with retries, delivery), ``calls`` (one callback
call's state and the callback sequence), ``pool`` (the bounded I/O threads). See
docs/architecture/lifecycle.md.
"""
