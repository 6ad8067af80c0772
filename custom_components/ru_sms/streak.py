"""Log a failing background job once when it starts failing and once when it is back."""

from __future__ import annotations

import logging


class FailureStreak:
    """The first failure of a streak at WARNING, its end at INFO, nothing in between.

    Home Assistant's rule for anything polled in the background: say it once, not on
    every attempt (the coordinators do the same for the balance).
    """

    def __init__(self, logger: logging.Logger, name: str, failing: str, back: str) -> None:
        """`failing` and `back` complete `<name>: ...` in the two log lines."""
        self._logger = logger
        self._name = name
        self._failing_text = failing
        self._back_text = back
        self.failing = False

    def failed(self, err: Exception) -> None:
        """An attempt failed: logged only when the last one did not."""
        if not self.failing:
            self._logger.warning("%s: %s: %s", self._name, self._failing_text, err)
            self.failing = True

    def succeeded(self) -> None:
        """An attempt worked: logged only when the last one failed."""
        if self.failing:
            self._logger.info("%s: %s", self._name, self._back_text)
            self.failing = False
