"""Take the README's screenshots from the real UI: Home Assistant started by scripts/develop.

    RU_SMS_HA_PORT=8125 RU_SMS_EMULATOR_PORT_BASE=19250 scripts/develop   # in one terminal
    python scripts/screenshots.py --port 8125 --emulator-port-base 19250 \
        --chromium /path/to/chromium                                      # in another

It needs Playwright (`pip install playwright`, in any throwaway venv) and a Chromium; it
imports nothing else, so it runs with any Python. On a fresh Home Assistant it onboards a
user through the onboarding API, adds the emulated SMSC.ru account and a recipient through
the flow API, adds an example automation, then shows each page in English and in Russian,
writes the README's docs/screenshots/*.png and prints the text of every page (to look for
English left in the Russian UI). The PNGs are then made small (128 colours) with Pillow:

    .venv/bin/python -c "from PIL import Image; import glob; [Image.open(f).convert('RGB')
        .quantize(128, dither=Image.Dither.NONE).save(f, optimize=True)
        for f in glob.glob('docs/screenshots/*.png')]"
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import re
import time
from typing import Any
import urllib.error
import urllib.request

from playwright.sync_api import Page, sync_playwright

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
USER = {"name": "Demo", "username": "demo", "password": "demo-password-1", "language": "en"}
SMSC = {"username": "alerts", "password": "s3cret-pass", "sender": "HomeAlert"}
RECIPIENT = {"name": "Ivan", "phones": ["+7 916 123-45-67"]}
AUTOMATION_ID = "boiler_failure_sms"


class Api:
    """Home Assistant's REST API, with the onboarded user's token."""

    def __init__(self, base: str) -> None:
        """Talk to Home Assistant at `base`."""
        self.base = base
        self.client_id = f"{base}/"
        self.token: dict[str, Any] = {}

    def call(self, method: str, path: str, body: Any = None, *, form: bool = False) -> Any:
        """One request; JSON (or a form) in, JSON out."""
        headers = {}
        data = None
        if body is not None and form:
            data = "&".join(f"{k}={v}" for k, v in body.items()).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token['access_token']}"
        request = urllib.request.Request(  # noqa: S310 - loopback Home Assistant
            self.base + path, data=data, headers=headers, method=method
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            text = response.read().decode()
        return json.loads(text) if text else None

    def onboard(self) -> None:
        """Create the user (first run) and sign in."""
        done = {step["step"] for step in self.call("GET", "/api/onboarding") if step["done"]}
        if "user" in done:
            raise SystemExit(
                "screenshots: Home Assistant is onboarded already: use a fresh config/"
            )
        code = self.call("POST", "/api/onboarding/users", {"client_id": self.client_id, **USER})[
            "auth_code"
        ]
        self.token = self.call(
            "POST",
            "/auth/token",
            {"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
            form=True,
        )
        self.call("POST", "/api/onboarding/core_config", {})
        self.call("POST", "/api/onboarding/analytics", {})
        self.call(
            "POST",
            "/api/onboarding/integration",
            {"client_id": self.client_id, "redirect_uri": f"{self.base}/?auth_callback=1"},
        )

    def add_account(self, port_base: int) -> str:
        """Add the emulated SMSC.ru account and a recipient; the entry id."""
        flow = self.call(
            "POST",
            "/api/config/config_entries/flow",
            {"handler": "ru_sms", "show_advanced_options": True},  # the URL field (2026.3)
        )
        path = f"/api/config/config_entries/flow/{flow['flow_id']}"
        self.call("POST", path, {"provider": "smsc"})
        result = self.call("POST", path, {**SMSC, "url": f"http://127.0.0.1:{port_base + 1}/sys/"})
        entry_id: str = result["result"]["entry_id"]
        flow = self.call(
            "POST",
            "/api/config/config_entries/subentries/flow",
            {"handler": [entry_id, "recipient"]},
        )
        self.call(
            "POST", f"/api/config/config_entries/subentries/flow/{flow['flow_id']}", RECIPIENT
        )
        return entry_id

    def template(self, template: str) -> str:
        """A template rendered by Home Assistant."""
        headers = {
            "Authorization": f"Bearer {self.token['access_token']}",
            "Content-Type": "application/json",
        }
        request = urllib.request.Request(  # noqa: S310 - loopback Home Assistant
            self.base + "/api/template",
            data=json.dumps({"template": template}).encode(),
            headers=headers,
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return str(response.read().decode())

    def add_automation(self, entry_id: str) -> None:
        """An automation that texts the recipient, and another number, on a low balance."""
        for _ in range(60):  # the account's entities come a moment after its flow
            low_balance, notify = (
                self.template(
                    f"{{{{ integration_entities('ru_sms') | select('match', '{domain}')"
                    " | first | default('') }}"
                )
                for domain in ("binary_sensor", "notify")
            )
            if low_balance and notify:
                break
            time.sleep(1)
        self.call(
            "POST",
            f"/api/config/automation/config/{AUTOMATION_ID}",
            {
                "id": AUTOMATION_ID,
                "alias": "SMS when the balance runs low",
                "description": "Texts Ivan, and the accountant, when the SMS balance is low.",
                "triggers": [{"trigger": "state", "entity_id": low_balance, "to": "on"}],
                "actions": [
                    {
                        "action": "notify.send_message",
                        "target": {"entity_id": notify},
                        "data": {"message": "Баланс SMS на исходе"},
                    },
                    {
                        "action": "ru_sms.send_message",
                        "data": {
                            "config_entry_id": entry_id,
                            "phones": ["+7 925 765-43-21"],
                            "message": "Пополните баланс SMSC.ru",
                            "transliterate": True,
                        },
                    },
                ],
                "mode": "single",
            },
        )


def sign_in(page: Page, api: Api, language: str) -> None:
    """Hand the browser the token and the language, as the frontend keeps them."""
    page.goto(api.base + "/?auth_callback=0")
    tokens = {
        **api.token,
        "hassUrl": api.base,
        "clientId": api.client_id,
        "expires": int(time.time() * 1000) + api.token["expires_in"] * 1000,
    }
    page.evaluate(
        """([tokens, language]) => {
            localStorage.setItem("hassTokens", JSON.stringify(tokens));
            localStorage.setItem("selectedLanguage", JSON.stringify(language));
        }""",
        [tokens, language],
    )


def show(page: Page, api: Api, path: str, settle: float = 3.0) -> None:
    """Open a page of the UI and let it render."""
    page.goto(api.base + path)
    page.wait_for_load_state("networkidle")
    time.sleep(settle)


ONLY = ""
README = {
    "config-flow-gateway",
    "config-flow-credentials",
    "config-flow-error-ru",
    "account-device",
    "account-device-ru",
    "recipient-device-ru",
    "recipient-flow-ru",
    "automation",
    "options",
    "options-error-ru",
    "dashboard-card-ru",
}
"""The screenshots the README shows (the others are only printed as text, to be read)."""
DASHBOARD = {
    "views": [
        {
            "title": "SMS",
            "cards": [
                {
                    "type": "entities",
                    "title": "SMS",
                    "entities": [
                        {"entity": "sensor.smsc_ru_alerts_balance"},
                        {"entity": "binary_sensor.smsc_ru_alerts_low_balance"},
                        {
                            "entity": "sensor.smsc_ru_alerts_last_message",
                            "secondary_info": "last-changed",
                        },
                        {
                            "type": "attribute",
                            "entity": "sensor.smsc_ru_alerts_last_message",
                            "attribute": "number",
                            "name": "Номер",
                        },
                        {"entity": "sensor.smsc_ru_alerts_messages_in_flight"},
                    ],
                }
            ],
        }
    ]
}
"""The README's dashboard card (in Russian: shot with the Russian UI)."""


def shoot(page: Page, name: str) -> None:
    """Save a screenshot (the README's) and print the page's text."""
    if not name.startswith(ONLY):
        return
    if name in README:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    print(f"=== {name}")
    print(deep_text(page))


def shoot_dashboard(page: Page, api: Api, suffix: str) -> None:
    """The README's dashboard card, after a message to the recipient."""
    api.call(
        "POST",
        "/api/services/notify/send_message",
        {"entity_id": "notify.ivan", "message": "Котёл: авария"},
    )
    time.sleep(15)  # the emulated SMSC.ru delivers it a few seconds later
    page.evaluate(
        """async (config) => {
            const hass = document.querySelector("home-assistant").hass;
            try {
                await hass.callWS({type: "lovelace/dashboards/create", url_path: "dashboard-sms",
                                   title: "SMS", mode: "storage"});
            } catch (err) {}  // made by an earlier pass
            await hass.callWS({type: "lovelace/config/save", url_path: "dashboard-sms",
                               config: config});
        }""",
        DASHBOARD,
    )
    show(page, api, "/dashboard-sms/0", settle=4)
    shoot(page, f"dashboard-card{suffix}")


def deep_text(page: Page) -> str:
    """The text of the page, shadow roots included (Home Assistant's UI is web components)."""
    text: str = page.evaluate(
        """() => {
            const out = [];
            const walk = (node) => {
                if (node.nodeType === Node.TEXT_NODE) {
                    const t = node.textContent.trim();
                    if (t) out.push(t);
                    return;
                }
                if (node.shadowRoot) walk(node.shadowRoot);
                for (const child of node.childNodes) walk(child);
            };
            walk(document.body);
            return out.join(" | ");
        }"""
    )
    return text


def main() -> None:
    """Onboard, add the account, shoot every page in both languages."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--emulator-port-base", type=int, default=18800)
    parser.add_argument("--chromium", required=True)
    parser.add_argument(
        "--state", type=Path, help="keep the token and the entry id here, to run again"
    )
    parser.add_argument("--only", help="shoot only the pages whose name starts with this")
    args = parser.parse_args()
    api = Api(f"http://127.0.0.1:{args.port}")
    if args.state and args.state.is_file():
        api.token, entry_id = json.loads(args.state.read_text())
    else:
        api.onboard()
        entry_id = api.add_account(args.emulator_port_base)
        if args.state:
            args.state.write_text(json.dumps([api.token, entry_id]))
    api.add_automation(entry_id)
    global ONLY  # noqa: PLW0603 - a filter for shoot()
    ONLY = args.only or ""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    devices = {
        device["name"]: device["id"]
        for device in ws_devices(api)
        if entry_id in device.get("config_entries", [])
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_FLAGS)
        for language in ("en", "ru"):
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            sign_in(page, api, language)
            # Entity names follow the server's language, the rest the user's: set both.
            show(page, api, "/config/integrations/integration/ru_sms")
            page.evaluate(
                """(language) => document.querySelector("home-assistant").hass.callWS(
                    {type: "config/core/update", language: language})""",
                language,
            )
            api.call("POST", f"/api/config/config_entries/entry/{entry_id}/reload")
            time.sleep(5)
            suffix = "" if language == "en" else "-ru"
            show(page, api, "/config/integrations/integration/ru_sms")
            shoot(page, f"integration{suffix}")
            show(page, api, f"/config/devices/device/{devices['SMSC.ru (alerts)']}")
            shoot(page, f"account-device{suffix}")
            show(page, api, f"/config/devices/device/{devices['Ivan']}")
            shoot(page, f"recipient-device{suffix}")
            show(page, api, f"/config/automation/edit/{AUTOMATION_ID}")
            shoot(page, f"automation{suffix}")
            shoot_flows(page, api, language, suffix)
            shoot_dashboard(page, api, suffix)
            page.close()
        browser.close()


CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
"""A Chromium that asks nothing of the network (Debian's package, run headless)."""
NEXT = re.compile(r"^(Next|Submit|Далее|Подтвердить|Отправить)$")
BUTTONS = {
    "en": {"configure": "Configure", "recipient": "Add recipient", "number": "Add Phone number"},
    "ru": {
        "configure": "Настроить",
        "recipient": "Добавить получателя",
        "number": "Добавить номер телефона",
    },
}


def shoot_flows(page: Page, api: Api, language: str, suffix: str) -> None:
    """The config flow (gateway choice, SMSC.ru credentials), the options, a recipient."""
    buttons = BUTTONS[language]
    show(page, api, "/config/integrations/dashboard/add?domain=ru_sms", settle=3)
    page.get_by_role("button", name=re.compile(r"^(OK|ОК)$")).click()
    time.sleep(3)
    shoot(page, f"config-flow-gateway{suffix}")
    page.get_by_text("SMSC.ru", exact=True).first.click()
    page.get_by_role("button", name=NEXT).click()
    time.sleep(3)
    shoot(page, f"config-flow-credentials{suffix}")
    page.get_by_role("button", name=NEXT).click()  # empty: the missing-credentials error
    time.sleep(2)
    shoot(page, f"config-flow-error{suffix}")
    page.keyboard.press("Escape")
    time.sleep(1)

    show(page, api, "/config/integrations/integration/ru_sms")
    # An external URL: the options then show the address to paste into SMSC.ru.
    page.evaluate(
        """() => document.querySelector("home-assistant").hass.callWS(
            {type: "config/core/update", external_url: "https://home.example.ru"})"""
    )
    page.get_by_role("button", name=buttons["configure"]).first.click()
    time.sleep(3)
    shoot(page, f"options{suffix}")
    # Our range errors, every field's at once (the interval and a negative threshold).
    numbers = page.locator("dialog-data-entry-flow input[type=number]")
    numbers.nth(0).fill("1")
    numbers.nth(1).fill("-5")
    page.get_by_role("button", name=NEXT).click()
    time.sleep(2)
    shoot(page, f"options-error{suffix}")
    page.keyboard.press("Escape")
    time.sleep(1)

    show(page, api, "/config/integrations/integration/ru_sms")
    page.get_by_role("button", name=buttons["recipient"]).first.click()
    time.sleep(3)
    fields = page.locator("dialog-data-entry-flow input")
    fields.nth(0).fill("Night shift")
    page.get_by_role("button", name=buttons["number"]).click()  # a multiple field: add one
    time.sleep(1)
    fields.nth(1).fill("12345")
    page.get_by_role("button", name=NEXT).click()
    time.sleep(2)
    shoot(page, f"recipient-flow{suffix}")
    page.keyboard.press("Escape")


def ws_devices(api: Api) -> list[dict[str, Any]]:
    """The devices with entities, through the template API (no websocket client needed)."""
    template = (
        "{% set ns = namespace(d=[]) %}"
        "{% for s in states %}{% set i = device_id(s.entity_id) %}"
        "{% if i and i not in ns.d %}{% set ns.d = ns.d + [i] %}{% endif %}{% endfor %}"
        '[{% for i in ns.d %}{"id": "{{ i }}", "name": {{ device_attr(i, \'name\') | tojson }},'
        " \"config_entries\": {{ device_attr(i, 'config_entries') | list | tojson }}}"
        "{% if not loop.last %},{% endif %}{% endfor %}]"
    )
    devices: list[dict[str, Any]] = json.loads(api.template(template))
    return devices


if __name__ == "__main__":
    try:
        main()
    except urllib.error.HTTPError as err:
        raise SystemExit(f"screenshots: {err}: {err.read().decode()}") from err
