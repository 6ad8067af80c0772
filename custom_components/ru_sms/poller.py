"""What every background ask of an account's gateway shares (incoming SMS, delivery reports).

One ask at a time, as a background task of the account (an unload cancels it); a failure
logged once when a streak of them starts and once when it ends (Home Assistant's rule for
anything polled in the background: the coordinators do the same for the balance); refused
credentials start reauthentication.
"""

from __future__ import annotations

import asyncio
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback

from .const import DOMAIN
from .providers import AuthenticationError, SmsGatewayError


class FailureStreak:
    """The first failure of a streak at WARNING, its end at INFO, nothing in between."""

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


class GatewayPoller:
    """Asks an account's gateway in the background, one ask at a time.

    A subclass says what one ask is (`_async_ask`) and when to ask; it reports each
    ask's outcome with `_succeeded` or `_failed`.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        logger: logging.Logger,
        *,
        what: str,
        failing: str,
        back: str,
    ) -> None:
        """`what` names the ask (its task, its log lines); `failing` and `back` the streak's."""
        self.hass = hass
        self.entry = entry
        self.polling = False
        """An ask is under way."""
        self._logger = logger
        self._what = what
        self._streak = FailureStreak(logger, entry.title, failing, back)
        self._task: asyncio.Task[None] | None = None

    async def _async_ask(self) -> None:
        """Ask the gateway once and take its answer."""
        raise NotImplementedError

    @callback
    def _async_asked(self) -> None:
        """An ask ended, however it went (the tracker plans its next one here)."""

    @callback
    def _async_start_poll(self) -> None:
        """Ask in the background (what a timer calls), unless the last ask is still running."""
        if not self._still_running():
            # Started eagerly: `polling` is set before this returns.
            self._task = self.entry.async_create_background_task(
                self.hass, self.async_poll(), f"{DOMAIN} {self._what} of {self.entry.title}"
            )

    async def async_poll(self) -> None:
        """Ask now, unless the last ask is still running; failures are logged, never raised."""
        if self._still_running():
            return
        self.polling = True
        try:
            await self._async_ask()
        finally:
            self.polling = False
            self._async_asked()

    def _still_running(self) -> bool:
        if self.polling:
            self._logger.debug("%s: the last %s is still running", self.entry.title, self._what)
        return self.polling

    async def _async_stop_polling(self) -> None:
        """Drop an ask under way (what it asked is asked again after the next start)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.wait([self._task])

    def _succeeded(self) -> None:
        """The ask worked."""
        self._streak.succeeded()

    def _failed(self, err: SmsGatewayError) -> None:
        """The ask failed; refused credentials start reauthentication."""
        if isinstance(err, AuthenticationError):
            self.entry.async_start_reauth(self.hass)
        self._streak.failed(err)
