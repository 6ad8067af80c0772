"""The schema library of the running Home Assistant, under one name.

Home Assistant 2026.10 validates with probatio; 2026.3 with voluptuous, which probatio
mirrors. Type checking runs against probatio (on 2026.3: none, see pyproject.toml).
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import probatio as vol
else:
    try:
        import probatio as vol
    except ImportError:  # Home Assistant before probatio
        import voluptuous as vol

__all__ = ["vol"]
