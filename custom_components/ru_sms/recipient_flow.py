"""The recipient subentry flow: a name, one or more numbers, and what to do when an alert is not answered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.data_entry_flow import section
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.selector import (
    BooleanSelector,
    DurationSelector,
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .const import CONF_PHONES
from .escalation import checked_plan
from .escalation.plan import (
    CODE_PLACEHOLDER,
    CONF_ESCALATION,
    ESCALATE_AFTER,
    ESCALATE_FALLBACK,
    ESCALATE_OFF,
    ESCALATE_TO,
    ESCALATE_WHEN,
    ESCALATE_WHENS,
    escalate_data,
)
from .providers import InvalidRecipientError, normalize_phones
from .schema import vol
from .validation import has_unpaired_surrogate

DEFAULT_AFTER = {"hours": 0, "minutes": 5, "seconds": 0}


class RecipientSubentryFlow(ConfigSubentryFlow):
    """A recipient: a name and one or more phone numbers, and its alerts' escalation."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a recipient."""
        return await self._async_step_recipient("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a recipient's name, numbers or escalation."""
        return await self._async_step_recipient("reconfigure", user_input)

    async def _async_step_recipient(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        # `{code}` is told of in the texts: the placeholder an alert's message may hold.
        placeholders = {"numbers": "", "code": CODE_PLACEHOLDER}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            try:
                phones = normalize_phones(
                    p for p in user_input.get(CONF_PHONES, []) if p and p.strip()
                )
            except InvalidRecipientError as err:
                # Without the numbers at fault, there was no number at all.
                errors[CONF_PHONES] = "invalid_phone" if err.phones else "no_phones"
                placeholders["numbers"] = ", ".join(err.phones)
            if not name:
                errors[CONF_NAME] = "empty_name"
            elif has_unpaired_surrogate(name):
                errors[CONF_NAME] = "invalid_characters"
            escalation = _stored_escalation(user_input.get(CONF_ESCALATION) or {})
            try:
                checked_plan(
                    self.hass,
                    self._get_entry(),
                    escalate_data(escalation),
                    recipients=[self._get_reconfigure_subentry().subentry_id]
                    if step_id == "reconfigure"
                    else [],
                )
            except ServiceValidationError as err:
                errors["base"] = err.translation_key or "invalid_escalation"
                placeholders |= err.translation_placeholders or {}
            if not errors:
                data: dict[str, Any] = {CONF_PHONES: phones}
                if escalation[ESCALATE_WHEN] != ESCALATE_OFF:
                    data[CONF_ESCALATION] = escalation
                if step_id == "reconfigure":
                    return self.async_update_and_abort(
                        self._get_entry(),
                        self._get_reconfigure_subentry(),
                        title=name,
                        data=data,
                    )
                return self.async_create_entry(title=name, data=data)
        suggested: Mapping[str, Any] = user_input or {}
        if user_input is None and step_id == "reconfigure":
            subentry = self._get_reconfigure_subentry()
            suggested = {
                CONF_NAME: subentry.title,
                CONF_PHONES: subentry.data[CONF_PHONES],
                CONF_ESCALATION: _form_escalation(subentry.data.get(CONF_ESCALATION)),
            }
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(_schema(), suggested),
            errors=errors,
            description_placeholders=placeholders,
        )


def _schema() -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_NAME): TextSelector(),
            vol.Required(CONF_PHONES): TextSelector(
                TextSelectorConfig(type=TextSelectorType.TEL, multiple=True)
            ),
            # Its default is the whole section (the frontend shows a section's default as
            # it is, not its fields' own): escalation off.
            vol.Required(CONF_ESCALATION, default=_form_escalation(None)): section(
                vol.Schema(
                    {
                        vol.Required(ESCALATE_WHEN, default=ESCALATE_OFF): SelectSelector(
                            SelectSelectorConfig(
                                options=list(ESCALATE_WHENS),
                                translation_key="escalate_when",
                                mode=SelectSelectorMode.DROPDOWN,
                            )
                        ),
                        vol.Required(ESCALATE_AFTER, default=DEFAULT_AFTER): DurationSelector(),
                        vol.Optional(ESCALATE_FALLBACK, default=False): BooleanSelector(),
                        vol.Optional(ESCALATE_TO, default=list): EntitySelector(
                            EntitySelectorConfig(domain="notify", multiple=True)
                        ),
                    }
                ),
                {"collapsed": True},
            ),
        }
    )


def _stored_escalation(form: Mapping[str, Any]) -> dict[str, Any]:
    """The form's escalation section as the recipient keeps it (the window in seconds)."""
    after = cv.time_period_dict(form.get(ESCALATE_AFTER) or DEFAULT_AFTER)
    return {
        ESCALATE_WHEN: form.get(ESCALATE_WHEN, ESCALATE_OFF),
        ESCALATE_AFTER: after.total_seconds(),
        ESCALATE_FALLBACK: bool(form.get(ESCALATE_FALLBACK, False)),
        ESCALATE_TO: list(form.get(ESCALATE_TO) or []),
    }


def _form_escalation(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """A kept escalation as the form shows it."""
    if not stored:
        return {
            ESCALATE_WHEN: ESCALATE_OFF,
            ESCALATE_AFTER: DEFAULT_AFTER,
            ESCALATE_FALLBACK: False,
            ESCALATE_TO: [],
        }
    seconds = int(stored[ESCALATE_AFTER])
    return {
        ESCALATE_WHEN: stored[ESCALATE_WHEN],
        ESCALATE_AFTER: {
            "hours": seconds // 3600,
            "minutes": seconds % 3600 // 60,
            "seconds": seconds % 60,
        },
        ESCALATE_FALLBACK: stored.get(ESCALATE_FALLBACK, False),
        ESCALATE_TO: stored.get(ESCALATE_TO, []),
    }
