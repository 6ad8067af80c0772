"""Escalation and acknowledgement: an alert that reaches a person.

- `plan`: what an alert asks (`EscalationPlan`) and the record kept of it (`Escalation`);
- `checks`: an escalation asked for, checked before anything is sent;
- `escalations`: the `Escalations` of an account, which follow, escalate and acknowledge.
"""

from .checks import checked_plan, receives_sms
from .escalations import Escalations, Sender, with_code
from .plan import (
    CONF_NOT_ACKNOWLEDGED_WITHIN,
    CONF_NOT_DELIVERED_WITHIN,
    CONF_STEPS,
    TARGET_FALLBACK,
    Escalation,
    EscalationPlan,
    EscalationState,
    Until,
)

__all__ = [
    "CONF_NOT_ACKNOWLEDGED_WITHIN",
    "CONF_NOT_DELIVERED_WITHIN",
    "CONF_STEPS",
    "TARGET_FALLBACK",
    "Escalation",
    "EscalationPlan",
    "EscalationState",
    "Escalations",
    "Sender",
    "Until",
    "checked_plan",
    "receives_sms",
    "with_code",
]
