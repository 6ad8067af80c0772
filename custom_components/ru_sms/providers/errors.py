"""The errors every gateway client raises.

Callers catch the kind they can act on. Each error carries the gateway's own code and
text (with any credential scrubbed out), never a URL or a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from .models import ErrorKind


class SendProblem(StrEnum):
    """Why a client refused something before any request, and the values it names.

    Each problem is a message of its own for the caller to word (its value is the key);
    `params` are the names of the values the error carries for that message.
    """

    params: tuple[str, ...]

    def __new__(cls, value: str, *params: str) -> SendProblem:
        """A problem and the names of its parameters."""
        problem = str.__new__(cls, value)
        problem._value_ = value
        problem.params = params
        return problem

    INVALID_PHONE = "invalid_phone", "numbers"
    NO_PHONES = "no_recipients"
    INVALID_SENDER = "invalid_sender", "max_length"
    SENDER_REQUIRED = "sender_required", "gateway"
    EMPTY_MESSAGE = "empty_message"
    MESSAGE_TOO_LONG = "message_too_long", "limit"
    FLASH = "flash", "gateway"
    RECIPIENT_LOCAL_TIME = "recipient_local_time", "gateway"
    LOCAL_TIME_WITHOUT_SEND_AT = "local_time_without_send_at"
    SEND_AT_WITHOUT_ZONE = "send_at_without_zone"
    VALIDITY_TOO_SHORT = "validity_too_short"
    VALIDITY_TOO_LONG = "validity_too_long", "gateway", "max_hours"
    INVALID_MESSAGE_ID = "invalid_message_id", "gateway"
    SEND_AT_IN_PAST = "send_at_in_past"
    SEND_AT_TOO_LATE = "send_at_too_late", "max_days"
    SEND_AT_YEAR = "send_at_year", "gateway", "first_year", "last_year"


class SmsGatewayError(Exception):
    """Base of every error a gateway client raises."""

    kind: ErrorKind = ErrorKind.UNAVAILABLE

    def __init__(
        self,
        message: str,
        *,
        code: str | int | None = None,
        text: str | None = None,
        problem: SendProblem | None = None,
        params: Mapping[str, str] | None = None,
    ) -> None:
        """Create the error with a readable message and the gateway's code and text.

        `problem` names, for something refused before any request, which check failed,
        and `params` the values its message names, so that callers can say it in their
        own words.
        """
        super().__init__(message)
        self.code: str | None = None if code is None else str(code)
        self.text = text
        self.problem = problem
        self._params = dict(params or {})

    @property
    def params(self) -> dict[str, str]:
        """The values the problem's message names."""
        return dict(self._params)

    @property
    def details(self) -> str | None:
        """The gateway's own code and text (`6: message is denied`), in no one's language."""
        return ": ".join(p for p in (self.code, self.text) if p) or None

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
        problem: SendProblem | None = None,
    ) -> None:
        """Create the error naming the numbers at fault (a problem: refused before sending)."""
        super().__init__(message, code=code, text=text, problem=problem)
        self.phones = phones

    @property
    def params(self) -> dict[str, str]:
        """The numbers at fault, where the problem's message names them."""
        if self.problem is None or "numbers" not in self.problem.params:
            return {}
        return {"numbers": ", ".join(self.phones) or "-"}


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
    certainly was not taken: no connection was made, or the gateway said it cannot serve
    it now (HTTP 503). `retry_after` is the wait the gateway named (0: none).
    """

    kind = ErrorKind.UNAVAILABLE

    def __init__(
        self,
        message: str,
        *,
        may_have_been_accepted: bool = False,
        unsent: bool = False,
        retry_after: float = 0.0,
        code: str | int | None = None,
        text: str | None = None,
    ) -> None:
        """Create the error, saying whether a send may have gone through anyway."""
        super().__init__(message, code=code, text=text)
        self.may_have_been_accepted = may_have_been_accepted
        self.unsent = unsent
        self.retry_after = retry_after

    @property
    def never_connected(self) -> bool:
        """No connection was made: not a byte of the request reached the gateway."""
        return self.unsent and isinstance(self, GatewayConnectionError | GatewayTimeoutError)


class GatewayConnectionError(GatewayUnavailableError):
    """The gateway could not be reached or closed the connection."""


class GatewayTimeoutError(GatewayUnavailableError):
    """The gateway did not answer in time."""


class GatewayResponseError(GatewayUnavailableError):
    """The gateway answered with a server error or something that cannot be read."""


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """What one of a gateway's error codes means: the error it becomes, and why."""

    error: type[SmsGatewayError]
    meaning: str
    retry_after: float = 0.0
    """For a `RateLimitedError`: seconds to wait."""


type ErrorTable = Mapping[int, ErrorCode]
"""A gateway's error codes, as its documentation lists them: each gateway has one."""


def error_for(
    entry: ErrorCode,
    *,
    code: str | int | None,
    text: str | None,
    phones: tuple[str, ...] = (),
    message: str | None = None,
) -> SmsGatewayError:
    """The error an error code's table entry makes, with the gateway's code and text.

    `phones` are the numbers of the request (named by `InvalidRecipientError`);
    `message` replaces the entry's meaning as the readable message.
    """
    message = message or entry.meaning
    if issubclass(entry.error, RateLimitedError):
        return entry.error(message, retry_after=entry.retry_after, code=code, text=text)
    if issubclass(entry.error, InvalidRecipientError):
        return entry.error(message, phones=phones, code=code, text=text)
    return entry.error(message, code=code, text=text)


class AlreadySentError(GatewayResponseError):
    """The gateway refused a send as a repeat of one whose answer was lost: it went out."""
