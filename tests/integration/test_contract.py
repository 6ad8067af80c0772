"""The contract between the gateway clients and Home Assistant.

Every refusal a client can make (each `SendProblem`) and every kind of gateway failure
(each `ErrorKind`) has its message in English and Russian, naming exactly the values the
error carries; and the Home Assistant side never asks which gateway it is.
"""

import json
from pathlib import Path
import re

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.translation import async_load_integrations
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ru_sms.const import DOMAIN
from custom_components.ru_sms.errors import (
    ERROR_KEYS,
    FAILURE_WORDS,
    MAY_HAVE_BEEN_SENT,
    error_details,
    translated_error,
    validation_error,
)
from custom_components.ru_sms.providers import (
    GATEWAY_TYPES,
    ErrorKind,
    SmsGatewayError,
    errors as provider_errors,
)
from custom_components.ru_sms.providers.errors import (
    GatewayUnavailableError,
    InvalidRecipientError,
    InvalidRequestError,
    SendProblem,
)

ROOT = Path(__file__).parents[2] / "custom_components" / DOMAIN
LANGUAGES = ("en", "ru")


def exceptions(language: str) -> dict[str, dict[str, str]]:
    """The `exceptions` section of a translation."""
    path = ROOT / "translations" / f"{language}.json"
    return json.loads(path.read_text("utf-8"))["exceptions"]


def placeholders(message: str) -> set[str]:
    """The placeholders a message names."""
    return set(re.findall(r"{(\w+)}", message))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("problem", list(SendProblem))
def test_every_problem_has_its_message(language: str, problem: SendProblem) -> None:
    params = dict.fromkeys(problem.params, "x")
    error_class = InvalidRecipientError if "numbers" in params else InvalidRequestError
    if error_class is InvalidRecipientError:
        err: SmsGatewayError = InvalidRecipientError("bad", phones=("1",), problem=problem)
    else:
        err = InvalidRequestError("refused", problem=problem, params=params)

    error = validation_error(err)

    assert error.translation_key == problem.value
    message = exceptions(language)[problem.value]["message"]
    assert placeholders(message) == set(error.translation_placeholders or {})


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(ErrorKind))
def test_every_error_kind_has_its_message(language: str, kind: ErrorKind) -> None:
    key = ERROR_KEYS[kind]
    message = exceptions(language)[key]["message"]
    assert {"gateway", "error"} <= placeholders(message)
    assert placeholders(message) <= {"gateway", "error", "retry_after"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_lost_answer_has_its_message(language: str) -> None:
    assert placeholders(exceptions(language)[MAY_HAVE_BEEN_SENT]["message"]) == {
        "gateway",
        "error",
    }


async def test_gateway_words_only_in_parentheses(hass: HomeAssistant) -> None:
    """The Russian UI gets a Russian sentence, the gateway's code and text as they are."""
    entry = MockConfigEntry(domain=DOMAIN, data={"provider": "smsc"})
    err = GatewayUnavailableError(
        "SMSC.ru refused the message (its text or sender name)", code=6, text="message is denied"
    )

    error = translated_error(hass, entry, err)

    assert error.translation_placeholders == {"gateway": "SMSC.ru", "error": "6: message is denied"}
    assert isinstance(error, HomeAssistantError)
    ru = exceptions("ru")[error.translation_key]["message"]
    assert ru.format(**error.translation_placeholders) == (
        "SMSC.ru сейчас недоступен, ничего не отправлено (6: message is denied)."
    )


def test_home_assistant_side_never_asks_which_gateway() -> None:
    """Gateway knowledge lives in providers/: no module outside it names a gateway."""
    gateways = "|".join(re.escape(gateway_id) for gateway_id in GATEWAY_TYPES)
    pattern = re.compile(
        rf"GatewayId\.(SMSC|SMSTELE|STREAM|DEVINO)\b|[=!]= *[\"']({gateways})[\"']"
        rf"|\bproviders\.(smsc|smstele|stream|devino|restapi)\b"
    )
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(ROOT.glob("*.py"))
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def every_error_class() -> list[type[SmsGatewayError]]:
    """SmsGatewayError and every class below it."""
    found = [SmsGatewayError]
    for cls in found:
        found += cls.__subclasses__()
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_failure_has_its_words(language: str) -> None:
    """A failure the gateway says nothing about is named in words, in both languages."""
    keys = {key for _, key in FAILURE_WORDS} | {f"failure_{kind.value}" for kind in ErrorKind}
    texts = exceptions(language)
    for key in keys:
        assert texts[key]["message"], key
        assert placeholders(texts[key]["message"]) == set(), key


@pytest.mark.parametrize("language", LANGUAGES)
async def test_no_class_name_reaches_people(
    hass: HomeAssistant, enable_custom_integrations: None, language: str
) -> None:
    """Without the gateway's words, the failure in the server's language; never a class name."""
    hass.config.language = language
    await async_load_integrations(hass, {DOMAIN})
    texts = exceptions(language)
    classes = every_error_class()
    assert provider_errors.GatewayConnectionError in classes
    for cls in classes:
        err = cls.__new__(cls)
        SmsGatewayError.__init__(err, "no words from the gateway")

        words = error_details(err)

        assert words not in {c.__name__ for c in classes}, cls
        assert words in {entry["message"] for entry in texts.values()}, cls
    connection = provider_errors.GatewayConnectionError("refused")
    assert error_details(connection) == texts["failure_connection"]["message"]
    # The gateway's own words, when it gave any, as they are; a bare code with ours after it.
    assert error_details(GatewayUnavailableError("x", code=503, text="busy")) == "503: busy"
    bare = provider_errors.GatewayResponseError("x", code=502)
    assert error_details(bare) == f"502, {texts['failure_answer']['message']}"
