"""Placeholder: being written."""

from .base import SmsGateway


class SmsteleClient(SmsGateway):  # type: ignore[misc]
    """Placeholder."""
