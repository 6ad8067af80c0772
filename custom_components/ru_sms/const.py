"""Constants of the ru_sms integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "ru_sms"

CONF_PROVIDER: Final = "provider"
"""The account's gateway (its id in `providers`). The code says "gateway"; the key stays
"provider" because every stored entry has it (a new name would need a migration)."""
CONF_SENDER: Final = "sender"
CONF_PHONES: Final = "phones"
CONF_BALANCE_INTERVAL: Final = "balance_interval"
"""Minutes between balance requests."""
CONF_LOW_BALANCE: Final = "low_balance_threshold"
CONF_TRANSLITERATE: Final = "transliterate"
CONF_CALLBACKS: Final = "callbacks"
"""The account posts delivery statuses to our webhook (polling drops to a safety net)."""
CONF_INCOMING_INTERVAL: Final = "incoming_interval"
"""Minutes between asks for incoming messages (0: off), where the gateway reports them."""
CONF_GIVE_UP_AFTER: Final = "give_up_after"
"""Minutes an alert without a validity of its own is tried before it is failed."""
CONF_MAX_COPIES: Final = "max_copies"
"""Requests of one alert that may have been taken, at most, where the gateway cannot tell
whether it took one (1: at most once)."""
CONF_FALLBACK: Final = "fallback_entry_id"
"""Another account that carries alerts this one cannot (credentials, money, gateway down)."""
CONF_WEBHOOK_SECRET: Final = "webhook_secret"  # noqa: S105 - a key, not a secret
CONF_REPLACE_TYPOGRAPHY: Final = "replace_typography"
"""Typographic characters become plain ones where that makes a text GSM-7 (cheaper)."""
CONF_STORM_GUARD: Final = "storm_guard"
"""Repeats are merged and bursts held per number (see `guard`)."""
CONF_REPEAT_WINDOW: Final = "repeat_window"
"""Minutes within which the same text to the same number goes once."""
CONF_BURST_LIMIT: Final = "burst_limit"
"""Alerts one number gets within `CONF_BURST_WINDOW` before the rest are held."""
CONF_BURST_WINDOW: Final = "burst_window"
"""Minutes of the burst limit's window."""
CONF_DAILY_PARTS: Final = "daily_parts_limit"
"""SMS parts a day (0: no limit) before alerts that are not critical are held."""
CONF_DAILY_COST: Final = "daily_cost_limit"
"""Money a day (0: no limit) before alerts that are not critical are held."""

SUBENTRY_RECIPIENT: Final = "recipient"

DEFAULT_BALANCE_INTERVAL: Final = 60
MIN_BALANCE_INTERVAL: Final = 5
MAX_BALANCE_INTERVAL: Final = 24 * 60
DEFAULT_LOW_BALANCE: Final = 0.0
DEFAULT_CURRENCY: Final = "RUB"
DEFAULT_INCOMING_INTERVAL: Final = 0
DEFAULT_GIVE_UP_AFTER: Final = 60
MAX_GIVE_UP_AFTER: Final = 24 * 60
DEFAULT_MAX_COPIES: Final = 3
MAX_MAX_COPIES: Final = 10
MAX_INCOMING_INTERVAL: Final = 24 * 60
DEFAULT_STORM_GUARD: Final = True
DEFAULT_REPEAT_WINDOW: Final = 10
DEFAULT_BURST_LIMIT: Final = 10
DEFAULT_BURST_WINDOW: Final = 10
MAX_GUARD_WINDOW: Final = 24 * 60
MAX_BURST_LIMIT: Final = 1000
DEFAULT_DAILY_PARTS: Final = 0
MAX_DAILY_PARTS: Final = 1_000_000
DEFAULT_DAILY_COST: Final = 0.0

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_PHONES: Final = "phones"
ATTR_ENTITY_ID: Final = "entity_id"
ATTR_MESSAGE: Final = "message"
ATTR_TITLE: Final = "title"
ATTR_SENDER: Final = "sender"
ATTR_SEND_AT: Final = "send_at"
ATTR_RECIPIENT_LOCAL_TIME: Final = "recipient_local_time"
ATTR_VALIDITY: Final = "validity"
ATTR_FLASH: Final = "flash"
ATTR_TRANSLITERATE: Final = "transliterate"
ATTR_MESSAGE_IDS: Final = "message_ids"
ATTR_QUEUE: Final = "queue"
ATTR_ESCALATE: Final = "escalate"
ATTR_ALERT_ID: Final = "alert_id"
"""Off: a send that meets a passing fault fails at once instead of waiting in the outbox."""
ATTR_REPLACE_TYPOGRAPHY: Final = "replace_typography"
ATTR_PRIORITY: Final = "priority"
PRIORITY_CRITICAL: Final = "critical"
"""An alert that passes the storm guard and the spending limits (and is counted)."""
PRIORITY_NORMAL: Final = "normal"
ATTR_DRY_RUN: Final = "dry_run"
"""On: nothing is sent; the response tells what would be (parts, cost, checks, guard)."""
ATTR_WAIT_FOR_DELIVERY: Final = "wait_for_delivery"
"""A duration: the action returns once every number's message is final, or when it ends."""

SERVICE_SEND_MESSAGE: Final = "send_message"
SERVICE_LOOKUP_NUMBER: Final = "lookup_number"
SERVICE_GET_STATUS: Final = "get_status"
SERVICE_ACKNOWLEDGE: Final = "acknowledge"
