"""The callbacks an owner of state (tracker, outbox) tells after every change."""

from __future__ import annotations

from collections.abc import Callable
import logging

from homeassistant.core import CALLBACK_TYPE, callback


class ChangeListeners:
    """Callbacks called after every change; a broken one is logged, never raised."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        """`what` names the owner in the log line of a broken listener."""
        self._logger = logger
        self._what = what
        self._listeners: list[Callable[[], None]] = []

    @callback
    def add(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call `listener` after every change; returns the function that stops it."""
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            self._listeners.remove(listener)

        return remove

    @callback
    def tell(self) -> None:
        """Call every listener (a broken one must neither fail a send nor stop polling)."""
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                self._logger.exception("%s: error in a listener", self._what)
