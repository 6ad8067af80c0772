"""The callbacks an owner of state (tracker, outbox) tells after every change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback


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


class OncePerTurn:
    """Runs an action at once, and once more at the next turn of the loop if asked again.

    For what many changes of one turn would each redo (a state write for each of 200
    answers that came together): the first change is shown at once, the others of its
    turn together at the next.
    """

    def __init__(self, hass: HomeAssistant, action: Callable[[], None]) -> None:
        """Run `action` (a callback)."""
        self._hass = hass
        self._action = action
        self._turn: asyncio.Handle | None = None
        self._again = False

    @callback
    def __call__(self) -> None:
        """Run the action now, or at the next turn when it ran in this one."""
        if self._turn is None:
            self._action()
            self._turn = self._hass.loop.call_soon(self._turn_ended)
        else:
            self._again = True

    @callback
    def _turn_ended(self) -> None:
        self._turn = None
        if self._again:
            self._again = False
            self._action()

    @callback
    def cancel(self) -> None:
        """Run nothing more (what was asked for the next turn is left out)."""
        if self._turn is not None:
            self._turn.cancel()
            self._turn = None
        self._again = False
