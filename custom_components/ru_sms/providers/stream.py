"""Placeholder: being written."""

from .base import SmsGateway


class StreamClient(SmsGateway):  # type: ignore[misc]
    """Placeholder."""
