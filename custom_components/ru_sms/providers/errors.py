"""The errors every gateway client raises.

Callers catch the kind they can act on. Each error carries the gateway's own code and
text (with any credential scrubbed out), never a URL or a secret.
"""

from __future__ import annotations

from .models import ErrorKind


class SmsGatewayError(Exception):
    """Base of every error a gateway client raises."""

    kind: ErrorKind = ErrorKind.UNAVAILABLE

    def __init__(
        self,
        message: str,
        *,
        code: str | int | None = None,
        text: str | None = None,
        problem: str | None = None,
    ) -> None:
        """Create the error with a readable message and the gateway's code and text.

        `problem` names, for a send refused before any request, which check failed
        (`flash`, `recipient_local_time`, `validity_too_long`, ...), so that callers can
        say it in their own words.
        """
        super().__init__(message)
        self.code: str | None = None if code is None else str(code)
        self.text = text
        self.problem = problem

    def __str__(self) -> str:
        """Message, then the gateway's code and text when known."""
        message = super().__str__()
        details = [
            part
            for part in (
                f"code {self.code}" if self.code is not None else None,
                self.text,
            )
            if part
        ]
        return f"{message} ({': '.join(details)})" if details else message


class AuthenticationError(SmsGatewayError):
    """The gateway refused the credentials (or the caller's IP address)."""

    kind = ErrorKind.AUTHENTICATION


class InsufficientFundsError(SmsGatewayError):
    """Not enough money on the account."""

    kind = ErrorKind.INSUFFICIENT_FUNDS


class InvalidRecipientError(SmsGatewayError):
    """A phone number is malformed or cannot be sent to."""

    kind = ErrorKind.INVALID_RECIPIENT

    def __init__(
        self,
        message: str,
        *,
        phones: tuple[str, ...] = (),
        code: str | int | None = None,
        text: str | None = None,
    ) -> None:
        """Create the error naming the numbers at fault."""
        super().__init__(message, code=code, text=text)
        self.phones = phones


class InvalidSenderError(SmsGatewayError):
    """The sender name is malformed or not registered with the gateway."""

    kind = ErrorKind.INVALID_SENDER


class MessageRejectedError(SmsGatewayError):
    """The gateway refused the text (spam filter, forbidden content, too long)."""

    kind = ErrorKind.MESSAGE_REJECTED


class InvalidRequestError(SmsGatewayError):
    """A parameter is missing or out of range (ours or as the gateway judged it)."""

    kind = ErrorKind.INVALID_REQUEST


class NotSupportedError(SmsGatewayError):
    """The gateway has no such feature."""

    kind = ErrorKind.NOT_SUPPORTED


class RateLimitedError(SmsGatewayError):
    """Too many requests: wait `retry_after` seconds before the next one."""

    kind = ErrorKind.RATE_LIMITED

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        code: str | int | None = None,
        text: str | None = None,
    ) -> None:
        """Create the error with the time to wait."""
        super().__init__(message, code=code, text=text)
        self.retry_after = retry_after


class GatewayUnavailableError(SmsGatewayError):
    """The gateway cannot be used right now: worth trying again later.

    `may_have_been_accepted` is true when a send reached the gateway but its answer was
    lost (a timeout after the request went out, a cut connection, a garbled answer):
    sending again could deliver the text twice. `unsent` is true only when the request
    certainly never reached the gateway (no connection was made): the one case a client
    tries again by itself.
    """

    kind = ErrorKind.UNAVAILABLE

    def __init__(
        self,
        message: str,
        *,
        may_have_been_accepted: bool = False,
        unsent: bool = False,
        code: str | int | None = None,
        text: str | None = None,
    ) -> None:
        """Create the error, saying whether a send may have gone through anyway."""
        super().__init__(message, code=code, text=text)
        self.may_have_been_accepted = may_have_been_accepted
        self.unsent = unsent


class GatewayConnectionError(GatewayUnavailableError):
    """The gateway could not be reached or closed the connection."""


class GatewayTimeoutError(GatewayUnavailableError):
    """The gateway did not answer in time."""


class GatewayResponseError(GatewayUnavailableError):
    """The gateway answered with a server error or something that cannot be read."""


class AlreadySentError(GatewayResponseError):
    """The gateway refused a send as a repeat of one whose answer was lost: it went out."""
