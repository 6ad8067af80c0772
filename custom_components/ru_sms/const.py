"""Constants of the ru_sms integration."""

from typing import Final

DOMAIN: Final = "ru_sms"
