"""A tiny in-process event channel so flows can drive the CLI's progress bars.

Library code and tasks call :func:`notify`; the CLI subscribes with
:func:`listening`. Listeners run in the notifying thread and must be quick and
thread-safe. With a distributed task runner, events from other processes are
simply not seen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Listener = Callable[[str, dict[str, Any]], None]
_listeners: list[Listener] = []
_lock = threading.Lock()


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)


def notify(event: str, **data: Any) -> None:
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(event, data)
