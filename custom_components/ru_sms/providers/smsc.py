"""Placeholder: being written."""

from .base import SmsGateway


class SmscClient(SmsGateway):  # type: ignore[misc]
    """Placeholder."""
