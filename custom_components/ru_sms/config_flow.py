"""Config flow: pick the gateway, check the credentials; options; recipients as subentries."""

from __future__ import annotations

from collections.abc import Mapping
import logging
import math
from typing import Any
from urllib.parse import urlsplit

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.const import (
    CONF_API_KEY,
    CONF_HOST,
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
    CONF_WEBHOOK_ID,
    MAJOR_VERSION,
    MINOR_VERSION,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import AbortFlow
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .account import RuSmsConfigEntry, create_gateway
from .const import (
    CONF_BALANCE_INTERVAL,
    CONF_BURST_LIMIT,
    CONF_BURST_WINDOW,
    CONF_CALLBACKS,
    CONF_DAILY_COST,
    CONF_DAILY_PARTS,
    CONF_FALLBACK,
    CONF_GIVE_UP_AFTER,
    CONF_INCOMING_INTERVAL,
    CONF_LOW_BALANCE,
    CONF_MAX_COPIES,
    CONF_PROVIDER,
    CONF_REPEAT_WINDOW,
    CONF_REPLACE_TYPOGRAPHY,
    CONF_SENDER,
    CONF_STORM_GUARD,
    CONF_TRANSLITERATE,
    CONF_WEBHOOK_SECRET,
    DEFAULT_BALANCE_INTERVAL,
    DEFAULT_BURST_LIMIT,
    DEFAULT_BURST_WINDOW,
    DEFAULT_CURRENCY,
    DEFAULT_DAILY_COST,
    DEFAULT_DAILY_PARTS,
    DEFAULT_GIVE_UP_AFTER,
    DEFAULT_INCOMING_INTERVAL,
    DEFAULT_LOW_BALANCE,
    DEFAULT_MAX_COPIES,
    DEFAULT_REPEAT_WINDOW,
    DEFAULT_STORM_GUARD,
    DOMAIN,
    MAX_BALANCE_INTERVAL,
    MAX_BURST_LIMIT,
    MAX_DAILY_PARTS,
    MAX_GIVE_UP_AFTER,
    MAX_GUARD_WINDOW,
    MAX_INCOMING_INTERVAL,
    MAX_MAX_COPIES,
    MIN_BALANCE_INTERVAL,
    SUBENTRY_RECIPIENT,
)
from .errors import gateway_name
from .providers import (
    GATEWAY_TYPES,
    AccountField,
    AuthenticationError,
    Capabilities,
    FieldType,
    GatewayUnavailableError,
    InvalidSenderError,
    RateLimitedError,
    SmsGateway,
    SmsGatewayError,
    client_class,
    description_of,
)
from .providers.base import check_sender
from .recipient_flow import RecipientSubentryFlow
from .schema import vol
from .validation import host_problem, unprintable_fields, url_problem
from .webhook import callback_url, new_webhook_data

_LOGGER = logging.getLogger(__name__)

PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
TEXT = TextSelector()
MINUTES = NumberSelector(
    # No min/max: see `_check_ranges`.
    NumberSelectorConfig(
        step=1, unit_of_measurement="min", translation_key="minutes", mode=NumberSelectorMode.BOX
    )
)
COUNT = NumberSelector(
    # No min/max: see `_check_ranges`.
    NumberSelectorConfig(step=1, mode=NumberSelectorMode.BOX)
)
CONF_CALLBACK_URL = "callback_url"
"""A read-only field of the options form: the URL to paste into SMSC's settings."""
ADVANCED_MODE_REMOVED = (MAJOR_VERSION, MINOR_VERSION) >= (2026, 6)
"""Home Assistant 2026.6 dropped the user profile's advanced mode (see `_show_url`)."""


def _capabilities(gateway_id: str) -> Capabilities:
    return client_class(gateway_id).capabilities


def _selector(field: AccountField) -> Any:
    """How an account field is entered."""
    if field.type is FieldType.NUMBER:
        # No min/max: see `_check_ranges`.
        return NumberSelector(NumberSelectorConfig(step=1, mode=NumberSelectorMode.BOX))
    if field.type is FieldType.BOOLEAN:
        return BooleanSelector()
    return PASSWORD if field.secret else TEXT


def _credentials_schema(gateway_id: str, *, advanced: bool) -> vol.Schema:
    """The fields the gateway declares, and the default sender."""
    fields: dict[vol.Marker, Any] = {}
    for field in description_of(gateway_id).fields:
        marker = vol.Required if field.required else vol.Optional
        key = (
            marker(field.key) if field.default is None else marker(field.key, default=field.default)
        )
        fields[key] = _selector(field)
    # Optional even where the gateway requires it: left empty, the frontend would stop the
    # form with its generic "not all required fields"; `_check_sender` says why instead.
    fields[vol.Optional(CONF_SENDER)] = TEXT
    if advanced:
        fields[vol.Optional(CONF_URL)] = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
    return vol.Schema(fields)


def _gateway_data(gateway_id: str, user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The entry data from a credentials form: the gateway and what was filled in."""
    data: dict[str, Any] = {CONF_PROVIDER: gateway_id}
    types = {field.key: field.type for field in description_of(gateway_id).fields}
    for key in (*types, CONF_URL):
        value = user_input.get(key)
        if isinstance(value, str):
            value = value.strip()
        if value not in (None, ""):
            if (
                types.get(key) is FieldType.NUMBER
                and isinstance(value, float)
                and value.is_integer()
            ):
                value = int(value)  # a number out of range or not whole stays as typed
            data[key] = value
    return data


def _declares(gateway_id: str, key: str) -> bool:
    """Whether the gateway's account has the field `key`."""
    return any(field.key == key for field in description_of(gateway_id).fields)


def _address_errors(data: Mapping[str, Any]) -> dict[str, str]:
    """Errors of the fields that say where the gateway is, and of unsendable texts."""
    errors = dict.fromkeys(unprintable_fields(data), "invalid_characters")
    if url := data.get(CONF_URL):
        if CONF_URL not in errors and (problem := url_problem(str(url))):
            errors[CONF_URL] = problem
    elif _declares(data[CONF_PROVIDER], CONF_HOST) and (
        problem := host_problem(str(data.get(CONF_HOST, "")))
    ):
        errors.setdefault(CONF_HOST, problem)
    return errors


def _unique_id(gateway: SmsGateway, data: Mapping[str, Any]) -> str:
    """One entry per gateway account (per host too, where the gateway says so)."""
    parts = [str(data[CONF_PROVIDER]), gateway.account_id]
    if gateway.description.per_host:
        # The host the gateway talks to, however it was given (host field or URL).
        parts.append(urlsplit(gateway.base_url).hostname or "")
    return ":".join(parts)


def _signs_in_by_key(data: Mapping[str, Any]) -> bool:
    """Whether the account signs in with an API key (its login, if any, is not checked)."""
    return not (data.get(CONF_USERNAME) and data.get(CONF_PASSWORD))


def _show_url(flow: ConfigFlow) -> bool:
    """Whether to ask for the API base URL: in advanced mode only.

    Home Assistant 2026.6 removed advanced mode: the frontend no longer says, and
    `show_advanced_options` is deprecated (always true, with a warning in the log).
    """
    return bool(flow.context.get("show_advanced_options", ADVANCED_MODE_REMOVED))


def _title(data: Mapping[str, Any]) -> str:
    name = gateway_name(data[CONF_PROVIDER])
    return f"{name} ({data[CONF_USERNAME]})" if data.get(CONF_USERNAME) else name


OPTION_RANGES: dict[str, tuple[float, float]] = {
    CONF_BALANCE_INTERVAL: (MIN_BALANCE_INTERVAL, MAX_BALANCE_INTERVAL),
    CONF_INCOMING_INTERVAL: (0, MAX_INCOMING_INTERVAL),
    CONF_GIVE_UP_AFTER: (1, MAX_GIVE_UP_AFTER),
    CONF_MAX_COPIES: (1, MAX_MAX_COPIES),
    CONF_LOW_BALANCE: (0, math.inf),
    CONF_REPEAT_WINDOW: (1, MAX_GUARD_WINDOW),
    CONF_BURST_LIMIT: (1, MAX_BURST_LIMIT),
    CONF_BURST_WINDOW: (1, MAX_GUARD_WINDOW),
    CONF_DAILY_PARTS: (0, MAX_DAILY_PARTS),
    CONF_DAILY_COST: (0, math.inf),
}
"""The numbers the options form takes (the account fields declare their own)."""
FRACTIONAL = frozenset({CONF_LOW_BALANCE, CONF_DAILY_COST})
"""The numbers that may have a fractional part (an amount of money); the others are whole."""


def _field_ranges(gateway_id: str) -> dict[str, tuple[float, float]]:
    """The numeric account fields the gateway declares, with their bounds."""
    return {
        field.key: (
            field.minimum if field.minimum is not None else float("-inf"),
            field.maximum if field.maximum is not None else float("inf"),
        )
        for field in description_of(gateway_id).fields
        if field.type is FieldType.NUMBER
    }


def _check_ranges(
    user_input: Mapping[str, Any], ranges: Mapping[str, tuple[float, float]], errors: dict[str, str]
) -> None:
    """A number out of range gets its own translated error, `<field>_range`.

    Checked here, not by the selectors (no min/max there): the selector's check would
    answer in voluptuous' English ("Value 1.0 is too small"), ours is translated.
    """
    for key, (low, high) in ranges.items():
        value = user_input.get(key)
        if value is not None and _out_of_range(value, low, high, whole=key not in FRACTIONAL):
            errors[key] = f"{key}_range"


def _out_of_range(value: Any, low: float, high: float, *, whole: bool = True) -> bool:
    """Whether a form's number is not a (whole, unless not `whole`) number from `low` to `high`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True
    if not math.isfinite(value) or (whole and value != int(value)):
        return True
    return not low <= value <= high


def _check_sender(sender: str | None, gateway_id: str, errors: dict[str, str]) -> None:
    if not sender:
        if _capabilities(gateway_id).sender_required:
            errors[CONF_SENDER] = "sender_required"
        return
    try:
        check_sender(sender, _capabilities(gateway_id).max_sender_length)
    except InvalidSenderError:
        errors[CONF_SENDER] = "invalid_sender"


def _options_fields(caps: Capabilities, currency: str) -> dict[vol.Marker, Any]:
    """The options an account has: what its gateway can do decides which."""
    fields: dict[vol.Marker, Any] = {
        vol.Optional(CONF_SENDER): TEXT,  # as in `_credentials_schema`
        vol.Required(CONF_TRANSLITERATE, default=False): BooleanSelector(),
        vol.Required(CONF_REPLACE_TYPOGRAPHY, default=False): BooleanSelector(),
    }
    if caps.balance:
        fields |= {
            vol.Required(CONF_BALANCE_INTERVAL, default=DEFAULT_BALANCE_INTERVAL): MINUTES,
            vol.Required(CONF_LOW_BALANCE, default=DEFAULT_LOW_BALANCE): NumberSelector(
                # The currency as the gateway names it (an ISO code such as RUB or KZT),
                # shown as it is: a selector's translated units are keys, not codes.
                # No min: see `_check_ranges`.
                NumberSelectorConfig(
                    step=0.01, unit_of_measurement=currency, mode=NumberSelectorMode.BOX
                )
            ),
        }
    if caps.incoming:
        fields[vol.Required(CONF_INCOMING_INTERVAL, default=DEFAULT_INCOMING_INTERVAL)] = MINUTES
    return fields


def _guard_fields(currency: str) -> dict[vol.Marker, Any]:
    """The storm guard's options and the daily spending limits."""
    return {
        vol.Required(CONF_STORM_GUARD, default=DEFAULT_STORM_GUARD): BooleanSelector(),
        vol.Required(CONF_REPEAT_WINDOW, default=DEFAULT_REPEAT_WINDOW): MINUTES,
        vol.Required(CONF_BURST_LIMIT, default=DEFAULT_BURST_LIMIT): COUNT,
        vol.Required(CONF_BURST_WINDOW, default=DEFAULT_BURST_WINDOW): MINUTES,
        vol.Required(CONF_DAILY_PARTS, default=DEFAULT_DAILY_PARTS): COUNT,
        vol.Required(CONF_DAILY_COST, default=DEFAULT_DAILY_COST): NumberSelector(
            # As the low-balance threshold: the gateway's currency code, shown as it is.
            NumberSelectorConfig(
                step=0.01, unit_of_measurement=currency, mode=NumberSelectorMode.BOX
            )
        ),
    }


class RuSmsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a gateway account."""

    VERSION = 1
    MINOR_VERSION = 2

    def __init__(self) -> None:
        """Start with no gateway picked."""
        self._gateway_id = ""

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: RuSmsConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Recipients are subentries."""
        return {SUBENTRY_RECIPIENT: RecipientSubentryFlow}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: RuSmsConfigEntry) -> RuSmsOptionsFlow:
        """Options: polling, threshold, default sender, transliteration."""
        return RuSmsOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick the gateway."""
        if user_input is not None:
            self._gateway_id = user_input[CONF_PROVIDER]
            return await self.async_step_credentials()
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_PROVIDER): SelectSelector(
                        SelectSelectorConfig(
                            # Brand names: shown as each gateway declares its own.
                            options=[
                                SelectOptionDict(value=gateway_id, label=gateway.description.name)
                                for gateway_id, gateway in GATEWAY_TYPES.items()
                            ],
                            mode=SelectSelectorMode.LIST,
                        )
                    )
                }
            ),
        )

    async def async_step_credentials(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the credentials and check them against the gateway."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _gateway_data(self._gateway_id, user_input)
            sender = (user_input.get(CONF_SENDER) or "").strip()
            gateway = await self._async_validate(data, sender, errors)
            if gateway is not None:
                await self.async_set_unique_id(_unique_id(gateway, data))
                self._abort_if_unique_id_configured()
                if description_of(self._gateway_id).callbacks is not None:
                    data |= new_webhook_data()
                return self.async_create_entry(
                    title=_title(data),
                    data=data,
                    options={CONF_SENDER: sender} if sender else {},
                )
        schema = _credentials_schema(self._gateway_id, advanced=_show_url(self))
        return self.async_show_form(
            step_id="credentials",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
            description_placeholders={"gateway": gateway_name(self._gateway_id)},
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The gateway refused the credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the password (or the API key) again."""
        entry = self._get_reauth_entry()
        secret = CONF_API_KEY if _signs_in_by_key(entry.data) else CONF_PASSWORD
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, secret: user_input[secret].strip()}
            gateway = await self._async_validate(data, None, errors)
            if gateway is not None:
                unique_id = self._async_same_account(entry, gateway, data)
                return self._async_update_and_reload(entry, unique_id=unique_id, data=data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(secret): PASSWORD}),
            errors=errors,
            description_placeholders={
                "gateway": gateway_name(entry.data[CONF_PROVIDER]),
                "account": entry.title,
            },
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the credentials, the address or the default sender of an account."""
        entry = self._get_reconfigure_entry()
        gateway_id = entry.data[CONF_PROVIDER]
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _gateway_data(gateway_id, user_input)
            # The webhook stays: its URL is pasted in the gateway's settings.
            data |= {
                k: entry.data[k] for k in (CONF_WEBHOOK_ID, CONF_WEBHOOK_SECRET) if k in entry.data
            }
            sender = (user_input.get(CONF_SENDER) or "").strip()
            gateway = await self._async_validate(data, sender, errors)
            if gateway is not None:
                unique_id = self._async_same_account(entry, gateway, data)
                options = {k: v for k, v in entry.options.items() if k != CONF_SENDER}
                if sender:
                    options[CONF_SENDER] = sender
                return self._async_update_and_reload(
                    entry, unique_id=unique_id, data=data, options=options
                )
        schema = _credentials_schema(gateway_id, advanced=_show_url(self) or CONF_URL in entry.data)
        suggested = user_input or {**entry.data, **entry.options}
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders={"gateway": gateway_name(gateway_id)},
        )

    @callback
    def _async_same_account(
        self, entry: RuSmsConfigEntry, gateway: SmsGateway, data: Mapping[str, Any]
    ) -> str:
        """The unique id of checked credentials; abort unless they are the entry's account.

        An API key does not tell its account, and a new key has a new digest: where the
        old or the new credentials are a key, any account not added yet is taken as this one.
        """
        unique_id = _unique_id(gateway, data)
        if unique_id == entry.unique_id:
            return unique_id
        unknown = entry.unique_id is None or _signs_in_by_key(entry.data) or _signs_in_by_key(data)
        taken = self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, unique_id)
        if not unknown or taken is not None:
            raise AbortFlow("wrong_account")
        return unique_id

    @callback
    def _async_update_and_reload(self, entry: RuSmsConfigEntry, **changes: Any) -> ConfigFlowResult:
        """Store the changes and start the account anew, once.

        A loaded account's update listener reloads it on any change (a flow reloading
        it too would start it twice; Home Assistant deprecates that); an account that is
        not loaded, or that did not change (the same password typed again), is reloaded here.
        """
        # Read first: the listener's reload starts at once and unloads the entry.
        has_listener = bool(entry.update_listeners)
        changed = self.hass.config_entries.async_update_entry(entry, **changes)
        if not (changed and has_listener):
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
        reason = "reauth_successful" if self.source == SOURCE_REAUTH else "reconfigure_successful"
        return self.async_abort(reason=reason)

    async def _async_validate(
        self, data: Mapping[str, Any], sender: str | None, errors: dict[str, str]
    ) -> SmsGateway | None:
        """The gateway when the credentials work; else `errors` say why."""
        gateway_id = data[CONF_PROVIDER]
        if sender is not None:  # None: the form has no sender (reauthentication)
            _check_sender(sender, gateway_id, errors)
        _check_ranges(data, _field_ranges(gateway_id), errors)
        has_login = bool(data.get(CONF_USERNAME)) and bool(data.get(CONF_PASSWORD))
        if not has_login and not data.get(CONF_API_KEY):
            errors["base"] = "missing_credentials"
        errors.update(_address_errors(data))
        if errors:
            return None
        gateway = create_gateway(self.hass, data)
        try:
            await gateway.check_credentials()
        except AuthenticationError:
            errors["base"] = "invalid_auth"
        except RateLimitedError:
            errors["base"] = "rate_limited"
        except GatewayUnavailableError:
            errors["base"] = "cannot_connect"
        except SmsGatewayError:
            # The gateway (or whatever answers at the address) refused the request.
            errors["base"] = "gateway_refused"
        except Exception:
            _LOGGER.exception("Unexpected error checking the %s credentials", gateway_id)
            errors["base"] = "unknown"
        return None if errors else gateway


class RuSmsOptionsFlow(OptionsFlow):
    """Balance polling, low-balance threshold, default sender, transliteration."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with every option."""
        gateway_id = self.config_entry.data[CONF_PROVIDER]
        url = (
            callback_url(self.hass, self.config_entry)
            if CONF_WEBHOOK_ID in self.config_entry.data
            else None
        )
        errors: dict[str, str] = {}
        if user_input is not None:
            sender = (user_input.get(CONF_SENDER) or "").strip()
            _check_sender(sender, gateway_id, errors)
            _check_ranges(user_input, OPTION_RANGES, errors)
            if user_input.get(CONF_CALLBACKS) and url is None:
                # Nothing could call back: polling would drop to a safety net for nothing.
                errors[CONF_CALLBACKS] = "no_callback_url"
            if not errors:
                options = {
                    k: v for k, v in user_input.items() if k not in (CONF_SENDER, CONF_CALLBACK_URL)
                }
                if sender:
                    options[CONF_SENDER] = sender
                return self.async_create_entry(data=options)
        fields = _options_fields(_capabilities(gateway_id), self._currency())
        suggested: dict[str, Any] = dict(user_input or self.config_entry.options)
        if CONF_WEBHOOK_ID in self.config_entry.data:
            fields[vol.Required(CONF_CALLBACKS, default=False)] = BooleanSelector()
            if url is not None:
                # Shown to be copied into SMSC's settings; never stored as an option.
                fields[vol.Optional(CONF_CALLBACK_URL)] = TextSelector(
                    TextSelectorConfig(type=TextSelectorType.URL, read_only=True)
                )
                suggested[CONF_CALLBACK_URL] = url
        fields[vol.Required(CONF_GIVE_UP_AFTER, default=DEFAULT_GIVE_UP_AFTER)] = MINUTES
        fields[vol.Required(CONF_MAX_COPIES, default=DEFAULT_MAX_COPIES)] = COUNT
        others = [
            SelectOptionDict(value=other.entry_id, label=other.title)
            for other in self.hass.config_entries.async_entries(DOMAIN)
            if other.entry_id != self.config_entry.entry_id
        ]
        if others:
            fields[vol.Optional(CONF_FALLBACK)] = SelectSelector(
                SelectSelectorConfig(options=others, mode=SelectSelectorMode.DROPDOWN)
            )
        fields |= _guard_fields(self._currency())
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), suggested),
            errors=errors,
            description_placeholders={
                "min_balance_interval": str(MIN_BALANCE_INTERVAL),
                "max_balance_interval": str(MAX_BALANCE_INTERVAL),
                "max_incoming_interval": str(MAX_INCOMING_INTERVAL),
                "max_give_up_after": str(MAX_GIVE_UP_AFTER),
                "max_copies": str(MAX_MAX_COPIES),
                "max_guard_window": str(MAX_GUARD_WINDOW),
                "max_burst_limit": str(MAX_BURST_LIMIT),
                "max_daily_parts": str(MAX_DAILY_PARTS),
                # Also in the field's description: text there can be selected and copied.
                "callback_url": url or "",
            },
        )

    def _currency(self) -> str:
        """The account's currency, for the threshold's unit (RUB until the balance says)."""
        entry: RuSmsConfigEntry = self.config_entry
        if entry.state is ConfigEntryState.LOADED and (balance := entry.runtime_data.balance):
            return balance.currency
        return DEFAULT_CURRENCY
