"""The rules Home Assistant's hassfest applies to a custom integration's files, offline.

hassfest is not in the Home Assistant wheel, so these are its rules restated (as of Home
Assistant 2026.10), each function returning the problems it finds as readable lines
(`path: what is wrong`), so that a test can assert `== []` and show every problem at once.
Stricter than hassfest in one way only: it checks every language, hassfest only English.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
import re
import string
from typing import Any

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.helpers import config_validation as cv, selector

from custom_components.ru_sms.schema import vol

TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")
"""A translation key: lower-case letters, digits, `-` and `_`, neither first, last nor doubled."""
URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5):\/\/|www\.)"
    r"[a-z0-9]+([\-\.]{1}[a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(\/.*)?)",
    re.IGNORECASE,
)
"""What hassfest takes for a URL in a text (URLs go in placeholders)."""
SINGLE_QUOTED_PLACEHOLDER = re.compile(r"'{\w+}'")
COMBINED_REFERENCE = re.compile(r"(.+\[%)|(%\].+)")

type Problems = list[str]
type KeyRule = Callable[[str], bool]


def is_translation_key(key: str) -> bool:
    """Hassfest's translation key (entity, state, selector option, service, field names)."""
    return TRANSLATION_KEY.match(key) is not None


def is_slug(key: str) -> bool:
    """Home Assistant's `cv.slug` (platforms, exception keys, service names in YAML)."""
    try:
        cv.slug(key)
    except vol.Invalid:
        return False
    return True


def slug_or_underscore(key: str) -> bool:
    """A slug, or `_` (the default entry of a section)."""
    return key == "_" or is_slug(key)


def text_problem(value: Any, *, placeholders: bool = True) -> str | None:
    """What hassfest refuses in a translated text, or None."""
    if not isinstance(value, str):
        return "not a text"
    try:
        cv.string_with_no_html(value)
    except vol.Invalid:
        return "holds HTML"
    if SINGLE_QUOTED_PLACEHOLDER.search(value):
        return "a placeholder inside single quotes"
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(value) if field]
    except ValueError:
        return "unbalanced braces"
    if fields and not placeholders:
        return "placeholders are not supported here"
    if any(not field.isidentifier() for field in fields):
        return "a placeholder that is not an identifier"
    if COMBINED_REFERENCE.search(value):
        return "a combined translation reference"
    if value != value.strip():
        return "leading or trailing spaces"
    if URL.search(value):
        return "a URL (give it as a placeholder)"
    return None


class _Walker:
    """Checks a nested mapping against a shape, collecting problems with their paths."""

    def __init__(self) -> None:
        self.problems: Problems = []

    def add(self, path: str, problem: str) -> None:
        self.problems.append(f"{path}: {problem}")

    def text(self, path: str, value: Any, *, placeholders: bool = True) -> None:
        if (problem := text_problem(value, placeholders=placeholders)) is not None:
            self.add(path, problem)

    def mapping(
        self,
        path: str,
        value: Any,
        *,
        allowed: Mapping[str, Callable[[str, Any], None]],
        required: tuple[str, ...] = (),
    ) -> None:
        """A mapping of known keys, each checked by its own function."""
        if not isinstance(value, dict):
            self.add(path, "not a mapping")
            return
        for key in required:
            if key not in value:
                self.add(path, f"'{key}' is required")
        for key, item in value.items():
            if key not in allowed:
                self.add(f"{path}.{key}", "not a key hassfest knows here")
            else:
                allowed[key](f"{path}.{key}", item)

    def keyed(
        self, path: str, value: Any, key_rule: KeyRule, check: Callable[[str, Any], None]
    ) -> None:
        """A mapping of free keys, each a valid key, each value checked alike."""
        if not isinstance(value, dict):
            self.add(path, "not a mapping")
            return
        for key, item in value.items():
            if not isinstance(key, str) or not key_rule(key):
                self.add(
                    f"{path}.{key}",
                    "invalid key (need [a-z0-9-_]+, not starting or ending with - or _)",
                )
            check(f"{path}.{key}", item)

    def texts(self, *, placeholders: bool = True) -> Callable[[str, Any], None]:
        return lambda path, value: self.text(path, value, placeholders=placeholders)

    def keyed_texts(
        self, key_rule: KeyRule, *, placeholders: bool = True
    ) -> Callable[[str, Any], None]:
        return lambda path, value: self.keyed(
            path, value, key_rule, self.texts(placeholders=placeholders)
        )

    def any_texts(self) -> Callable[[str, Any], None]:
        """`{str: text}` (form data labels, errors, aborts: any key)."""
        return lambda path, value: self.keyed(path, value, lambda _: True, self.texts())

    # -- the sections of a translation file ----------------------------------------------

    def flow(self, path: str, value: Any, *, subentry: bool = False, config: bool = False) -> None:
        step = {
            "title": self.texts(),
            "description": self.texts(),
            "data": self.any_texts(),
            "data_description": self.any_texts(),
            "menu_options": self.any_texts(),
            "menu_option_descriptions": self.any_texts(),
            "submit": self.texts(),
            "sections": lambda p, v: self.keyed(
                p,
                v,
                lambda _: True,
                lambda p2, v2: self.mapping(
                    p2,
                    v2,
                    allowed={
                        "data": self.any_texts(),
                        "data_description": self.any_texts(),
                        "description": self.texts(),
                        "name": self.texts(),
                    },
                ),
            ),
        }
        allowed: dict[str, Callable[[str, Any], None]] = {
            "flow_title": self.texts(),
            "step": lambda p, v: self.keyed(
                p, v, lambda _: True, lambda p2, v2: self.step(p2, v2, step)
            ),
            "error": self.any_texts(),
            "abort": self.any_texts(),
            "progress": self.any_texts(),
            "create_entry": self.any_texts(),
            "initiate_flow": lambda p, v: self.mapping(
                p,
                v,
                allowed=dict.fromkeys(
                    (v if subentry and isinstance(v, dict) else ["user"]), self.texts()
                ),
                required=("user",),
            ),
        }
        if subentry:
            allowed["entry_type"] = self.texts()
        if config:
            # Allowed with a warning for custom integrations; an error for core.
            allowed["title"] = lambda p, _v: self.add(p, "config.title moved to the file's root")
        required = ("step", "entry_type", "initiate_flow") if subentry else ("step",)
        self.mapping(path, value, allowed=allowed, required=required)

    def step(
        self, path: str, value: Any, allowed: Mapping[str, Callable[[str, Any], None]]
    ) -> None:
        self.mapping(path, value, allowed=allowed)
        if isinstance(value, dict):
            for key in value.get("data_description", {}):
                if key not in value.get("data", {}):
                    self.add(f"{path}.data_description.{key}", "described but not in data")

    def selector(self, path: str, value: Any) -> None:
        field = lambda p, v: self.mapping(  # noqa: E731
            p,
            v,
            allowed={"name": self.str_(), "description": self.texts()},
            required=("name", "description"),
        )
        self.mapping(
            path,
            value,
            allowed={
                "choices": self.keyed_texts(is_translation_key),
                "options": self.keyed_texts(is_translation_key),
                "unit_of_measurement": self.keyed_texts(is_translation_key),
                "fields": lambda p, v: self.keyed(p, v, is_translation_key, field),
            },
        )

    def str_(self) -> Callable[[str, Any], None]:
        return lambda path, value: None if isinstance(value, str) else self.add(path, "not a text")

    def entity(self, path: str, value: Any) -> None:
        no_placeholders = self.keyed_texts(is_translation_key, placeholders=False)
        self.mapping(
            path,
            value,
            allowed={
                "name": self.texts(),
                "state": no_placeholders,
                "state_attributes": lambda p, v: self.keyed(
                    p,
                    v,
                    is_translation_key,
                    lambda p2, v2: self.mapping(
                        p2,
                        v2,
                        allowed={
                            "name": self.texts(placeholders=False),
                            "state": no_placeholders,
                        },
                    ),
                ),
                "unit_of_measurement": self.texts(placeholders=False),
            },
        )

    def service(self, path: str, value: Any) -> None:
        field = lambda p, v: self.mapping(  # noqa: E731
            p,
            v,
            allowed={"name": self.str_(), "description": self.texts(), "example": self.texts()},
            required=("name", "description"),
        )
        section = lambda p, v: self.mapping(  # noqa: E731
            p, v, allowed={"name": self.str_(), "description": self.texts()}, required=("name",)
        )
        self.mapping(
            path,
            value,
            allowed={
                "name": self.texts(),
                "description": self.texts(),
                "fields": lambda p, v: self.keyed(p, v, is_translation_key, field),
                "sections": lambda p, v: self.keyed(p, v, is_translation_key, section),
            },
            required=("name", "description"),
        )

    def issue(self, path: str, value: Any) -> None:
        self.mapping(
            path,
            value,
            allowed={
                "title": self.texts(),
                "description": self.texts(),
                "fix_flow": self.flow,
            },
            required=("title",),
        )
        if isinstance(value, dict) and ("description" in value) == ("fix_flow" in value):
            self.add(path, "needs a description or a fix_flow (one of them)")

    def translations(self, strings: Any) -> None:
        self.mapping(
            "",
            strings,
            allowed={
                "title": self.texts(),
                "config": lambda p, v: self.flow(p, v, config=True),
                "config_subentries": lambda p, v: self.keyed(
                    p, v, slug_or_underscore, lambda p2, v2: self.flow(p2, v2, subentry=True)
                ),
                "options": self.flow,
                "selector": lambda p, v: self.keyed(p, v, slug_or_underscore, self.selector),
                "issues": lambda p, v: self.keyed(p, v, lambda _: True, self.issue),
                "device": lambda p, v: self.keyed(
                    p,
                    v,
                    is_translation_key,
                    lambda p2, v2: self.mapping(p2, v2, allowed={"name": self.texts()}),
                ),
                "entity": lambda p, v: self.keyed(
                    p,
                    v,
                    is_slug,
                    lambda p2, v2: self.keyed(p2, v2, is_translation_key, self.entity),
                ),
                "exceptions": lambda p, v: self.keyed(
                    p,
                    v,
                    is_slug,
                    lambda p2, v2: self.mapping(p2, v2, allowed={"message": self.texts()}),
                ),
                "services": lambda p, v: self.keyed(p, v, is_translation_key, self.service),
            },
        )


def translation_problems(strings: Any) -> Problems:
    """What hassfest's `translations` plugin would say of a translation file."""
    walker = _Walker()
    walker.translations(strings)
    return [problem.removeprefix(".") for problem in walker.problems]


# -- services.yaml ------------------------------------------------------------------------

FIELD_KEYS = {
    "example",
    "default",
    "required",
    "advanced",
    "selector",
    "name",
    "description",
    "filter",
}


def _fields(services: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for service, spec in services.items():
        for name, field in ((spec or {}).get("fields") or {}).items():
            if isinstance(field, dict) and "fields" in field:  # a section
                for inner, inner_field in field["fields"].items():
                    yield service, inner, inner_field
            else:
                yield service, name, field


def services_problems(services: Any, strings: Mapping[str, Any]) -> Problems:
    """What hassfest's `services` plugin would say of a custom integration's services.yaml."""
    problems: Problems = []
    if not isinstance(services, dict):
        return ["services.yaml: not a mapping"]
    for service, spec in services.items():
        if not is_slug(service):
            problems.append(f"{service}: not a slug")
        if spec is None:
            continue
        unknown = set(spec) - {"target", "fields", "name", "description"}
        problems += [f"{service}.{key}: not a key hassfest knows here" for key in unknown]
    seen: dict[str, set[str]] = {}
    for service, name, field in _fields(services):
        path = f"{service}.fields.{name}"
        if name in seen.setdefault(service, set()):
            problems.append(f"{path}: the same field twice")
        seen[service].add(name)
        if not isinstance(field, dict):
            problems.append(f"{path}: not a mapping")
            continue
        problems += [
            f"{path}.{key}: not a key hassfest knows here" for key in set(field) - FIELD_KEYS
        ]
        if "filter" in field and "target" not in services[service]:
            problems.append(f"{path}.filter: only for targeted actions")
        for key in ("example", "default"):
            if key in field and field[key] is None:
                problems.append(f"{path}.{key}: cannot be empty")
        for key in ("required", "advanced"):
            if key in field and not isinstance(field[key], bool):
                problems.append(f"{path}.{key}: not a boolean")
        if "selector" in field:
            try:
                selector.validate_selector(field["selector"])
            except vol.Invalid as err:
                problems.append(f"{path}.selector: {err}")
            key = (field["selector"] or {}).get("select", {}) or {}
            if (
                translation_key := key.get("translation_key")
            ) and translation_key not in strings.get("selector", {}):
                problems.append(f"{path}.selector: translation key {translation_key} has no text")
    return problems


# -- icons.json -----------------------------------------------------------------------------


def icons_problems(icons: Any) -> Problems:
    """What hassfest's `icons` plugin would say of an integration's icons.json."""
    problems: Problems = []

    def icon(path: str, value: Any) -> None:
        if not (isinstance(value, str) and value.startswith("mdi:")):
            problems.append(f"{path}: not an icon (mdi:...)")

    def states(path: str, value: Any, default: Any) -> None:
        for state, state_icon in (value or {}).items():
            if not is_translation_key(state):
                problems.append(f"{path}.{state}: invalid key")
            icon(f"{path}.{state}", state_icon)
            if state_icon == default:
                problems.append(f"{path}.{state}: the default icon again (remove it)")

    for section, value in icons.items():
        if section == "entity":
            for platform, entities in value.items():
                if not is_slug(platform):
                    problems.append(f"entity.{platform}: not a slug")
                for key, spec in entities.items():
                    path = f"entity.{platform}.{key}"
                    if not is_translation_key(key):
                        problems.append(f"{path}: invalid key")
                    problems += [
                        f"{path}.{k}: unknown"
                        for k in set(spec) - {"default", "state", "state_attributes"}
                    ]
                    if "default" in spec:
                        icon(f"{path}.default", spec["default"])
                    states(f"{path}.state", spec.get("state"), spec.get("default"))
        elif section == "services":
            for service, spec in value.items():
                if not is_translation_key(service):
                    problems.append(f"services.{service}: invalid key")
                if isinstance(spec, str):
                    icon(f"services.{service}", spec)
                    continue
                problems += [
                    f"services.{service}.{k}: unknown" for k in set(spec) - {"service", "sections"}
                ]
                if "service" in spec:
                    icon(f"services.{service}.service", spec["service"])
                for name, section_icon in (spec.get("sections") or {}).items():
                    icon(f"services.{service}.sections.{name}", section_icon)
        elif section not in ("config", "options", "issues"):
            problems.append(f"{section}: not a key hassfest knows here")
    return problems


# -- manifest.json --------------------------------------------------------------------------

MANIFEST_KEYS = {
    "domain", "name", "integration_type", "config_flow", "mqtt", "zeroconf", "ssdp",
    "bluetooth", "homekit", "dhcp", "usb", "documentation", "quality_scale", "requirements",
    "dependencies", "after_dependencies", "codeowners", "loggers", "disabled", "iot_class",
    "single_config_entry", "preview_features", "version", "issue_tracker", "import_executor",
}  # fmt: skip
"""The keys hassfest's schema takes in a custom integration's manifest."""
VERSION_STRATEGIES = [
    AwesomeVersionStrategy.CALVER,
    AwesomeVersionStrategy.SEMVER,
    AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER,
    AwesomeVersionStrategy.PEP440,
]


def manifest_problems(manifest: dict[str, Any], directory: str) -> Problems:
    """What hassfest's `manifest` and `requirements` plugins would say of a custom manifest."""
    problems = [f"{key}: not a key hassfest knows" for key in set(manifest) - MANIFEST_KEYS]
    problems += [
        f"{key}: required"
        for key in ("domain", "name", "documentation", "codeowners")
        if key not in manifest
    ]
    if manifest.get("domain") != directory:
        problems.append("domain: does not match the directory")
    keys = list(manifest)
    if keys != sorted(keys, key=lambda key: {"domain": ".domain", "name": ".name"}.get(key, key)):
        problems.append("keys: not sorted (domain, name, then alphabetical)")
    documentation = str(manifest.get("documentation", ""))
    if not documentation.startswith("https://") or documentation.startswith(
        "https://www.home-assistant.io/integrations"
    ):
        problems.append("documentation: an https URL of the custom integration's own docs")
    if "iot_class" not in manifest:
        problems.append("iot_class: missing")
    if manifest.get("integration_type", "hub") not in {
        "device", "entity", "hardware", "helper", "hub", "service", "system",
    }:  # fmt: skip
        problems.append("integration_type: unknown")
    try:
        AwesomeVersion(manifest.get("version", ""), ensure_strategy=VERSION_STRATEGIES)
    except Exception:  # noqa: BLE001 - any refusal is the problem
        problems.append("version: missing or not a version")
    for requirement in manifest.get("requirements", []):
        if " " in requirement or not re.match(
            r"^(?:--.+\s)?([-_,\.\w\d\[\]]+)(==|>=|<=|~=|!=|<|>|===)*(.*)$", requirement
        ):
            problems.append(f"requirements: {requirement!r} is not a requirement")
    for key in ("codeowners", "requirements", "dependencies", "after_dependencies", "loggers"):
        if not all(isinstance(item, str) for item in manifest.get(key, [])):
            problems.append(f"{key}: a list of texts")
    return problems
