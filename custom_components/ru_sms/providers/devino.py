"""Placeholder: being written."""

from .base import SmsGateway


class DevinoClient(SmsGateway):  # type: ignore[misc]
    """Placeholder."""
