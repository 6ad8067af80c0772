"""What HACS and hassfest check, checked offline.

- manifest.json: the keys Home Assistant requires of a custom integration, in hassfest's
  order (domain, name, then alphabetical), with valid values;
- hacs.json: only keys HACS knows, a minimum Home Assistant version;
- brand/: the files Home Assistant 2026.3+ serves for a custom integration, to the brand
  image rules (PNG with transparency, trimmed, icon 256/512 square, logo 128..256 /
  256..512 on its shortest side);
- services.yaml: every action Home Assistant registers, with exactly its schema's fields,
  named and described in both languages;
- translations, selectors, services.yaml, icons.json and the manifest against hassfest's own
  schemas (tests/integration/hassfest_rules.py: slug keys, texts without HTML, URLs or stray
  placeholders...), in both languages, each rule shown to find a fault planted in a copy;
- translations: every key used exists, every key that exists is used, every `exceptions`
  key reachable from the code; icons for every entity and action;
- the quality scale's `runtime_data` / typed ConfigEntry rule and `parallel-updates`, as
  hassfest's `script/hassfest/quality_scale_validation` checks them (it is not in the
  Home Assistant wheel: reproduced here on the same AST).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
import json
from pathlib import Path
import re
from typing import Any

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
from PIL import Image
import pytest

from custom_components.ru_sms.config_flow import OPTION_RANGES
from custom_components.ru_sms.const import DOMAIN
from custom_components.ru_sms.errors import ERROR_KEYS
from custom_components.ru_sms.providers import GATEWAY_TYPES, ErrorKind, FieldType, description_of
from custom_components.ru_sms.providers.errors import SendProblem
from tests.integration.hassfest_rules import (
    icons_problems,
    manifest_problems,
    services_problems,
    translation_problems,
)

INTEGRATION = Path(__file__).parents[2] / "custom_components" / DOMAIN
REPOSITORY = INTEGRATION.parents[1]
LANGUAGES = ("en", "ru")


def translations(language: str) -> dict[str, Any]:
    return json.loads((INTEGRATION / "translations" / f"{language}.json").read_text("utf-8"))


def modules() -> Iterator[tuple[Path, ast.Module]]:
    """Every Python module of the integration, parsed."""
    for path in sorted(INTEGRATION.rglob("*.py")):
        yield path, ast.parse(path.read_text("utf-8"), filename=str(path))


def string_constants(*names: str) -> set[str]:
    """Every string literal in the named modules (all of them without names)."""
    found: set[str] = set()
    for path, module in modules():
        if names and path.stem not in names:
            continue
        found |= {
            node.value
            for node in ast.walk(module)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }
    return found


def keyword_values(keyword: str, *names: str) -> set[str]:
    """The literal (or module constant) values given as `keyword=` in the named modules."""
    constants = {
        target.id: node.value.value
        for _, module in modules()
        for node in module.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    found: set[str] = set()
    for path, module in modules():
        if names and path.stem not in names:
            continue
        for node in ast.walk(module):
            if isinstance(node, ast.keyword) and node.arg == keyword:
                if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    found.add(node.value.value)
                elif isinstance(node.value, ast.Name) and node.value.id in constants:
                    found.add(constants[node.value.id])
    return found


# -- manifest.json and hacs.json (hassfest's manifest rules for custom integrations) -------


def test_manifest() -> None:
    manifest = json.loads((INTEGRATION / "manifest.json").read_text("utf-8"))
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:]), "hassfest: keys after domain and name, sorted"
    assert manifest["domain"] == DOMAIN == INTEGRATION.name
    required = {"codeowners", "documentation", "integration_type", "iot_class", "version"}
    assert required <= set(keys)
    assert AwesomeVersion(manifest["version"]).valid
    assert manifest["integration_type"] in {"device", "hub", "service"}
    assert manifest["iot_class"] in {
        "assumed_state",
        "calculated",
        "cloud_polling",
        "cloud_push",
        "local_polling",
        "local_push",
    }
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    assert manifest["config_flow"] is True
    assert (INTEGRATION / "config_flow.py").is_file()
    for url in (manifest["documentation"], manifest["issue_tracker"]):
        assert url.startswith("https://")
    for requirement in manifest["requirements"]:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z,]+\])?(==|>=)[0-9][0-9a-z.]*", requirement)
    assert all(re.fullmatch(r"[a-z0-9_]+", dependency) for dependency in manifest["dependencies"])


def oldest_tested_version() -> str:
    """The oldest Home Assistant .ci/run tests (its VERSIONS table)."""
    ci = (REPOSITORY / ".ci" / "run").read_text("utf-8")
    return str(min(AwesomeVersion(v) for v in re.findall(r'"HA-([0-9.]+) ', ci)))


def test_hacs_json() -> None:
    """What the HACS action checks of hacs.json, and the version it asks for."""
    hacs = json.loads((REPOSITORY / "hacs.json").read_text("utf-8"))
    known = {
        "name",
        "content_in_root",
        "zip_release",
        "filename",
        "hide_default_branch",
        "country",
        "homeassistant",
        "hacs",
        "persistent_directory",
        "render_readme",
    }
    assert set(hacs) <= known
    assert isinstance(hacs["name"], str)
    assert hacs["name"]
    # The oldest version the tests run on: an older one would install untested.
    assert hacs["homeassistant"] == oldest_tested_version() == "2026.3.4"
    assert re.fullmatch(r"[A-Z]{2}", hacs["country"])
    assert not hacs.get("content_in_root")  # the integration is in custom_components/
    for flag in ("content_in_root", "zip_release", "hide_default_branch", "render_readme"):
        assert isinstance(hacs.get(flag, False), bool), flag
    # HACS's other repository checks that files decide: an information file with images,
    # the integration's own brand icon (HACS takes it for the brands repository's entry).
    assert "docs/screenshots/" in (REPOSITORY / "README.md").read_text("utf-8")
    assert (INTEGRATION / "brand" / "icon.png").is_file()
    packages = [p.name for p in (REPOSITORY / "custom_components").iterdir() if p.name[0] != "_"]
    assert packages == [DOMAIN]


def test_loggers_name_the_libraries() -> None:
    """The manifest's `loggers`: the loggers of the libraries it requires, not the integration's own."""
    manifest = json.loads((INTEGRATION / "manifest.json").read_text("utf-8"))
    libraries = {re.split(r"[=<>~!\[]", requirement)[0] for requirement in manifest["requirements"]}
    assert set(manifest["loggers"]) == libraries == {"phonenumbers", "iuliia"}


def test_release_versions_agree() -> None:
    """The manifest's version (HACS shows it; the release tag is v<version>) everywhere."""
    manifest = json.loads((INTEGRATION / "manifest.json").read_text("utf-8"))["version"]
    pyproject = re.search(
        r'^version = "([^"]+)"', (REPOSITORY / "pyproject.toml").read_text("utf-8"), re.M
    )
    changelog = re.search(
        r"^## \[([^\]]+)\] - \d{4}-\d{2}-\d{2}$",
        (REPOSITORY / "CHANGELOG.md").read_text("utf-8"),
        re.M,
    )
    assert pyproject is not None
    assert changelog is not None, "CHANGELOG.md: no '## [version] - date' entry"
    assert manifest == pyproject[1] == changelog[1]
    assert AwesomeVersion(manifest).strategy is AwesomeVersionStrategy.SEMVER


def workflow(name: str) -> dict[str, Any]:
    return load_yaml_dict(str(REPOSITORY / ".github" / "workflows" / name))


def steps_using(flow: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [
        step
        for job in flow["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith(action)
    ]


def test_workflows_run_the_ecosystems_checks() -> None:
    """The hassfest and HACS actions as their documentation gives them; .ci/run; on every push."""
    validate, ci = workflow("validate.yml"), workflow("ci.yml")
    for flow in (validate, ci):
        # YAML reads `on:` as True.
        triggers = flow.get("on", flow.get(True))
        assert {"push", "pull_request"} <= set(triggers)
    assert steps_using(validate, "home-assistant/actions/hassfest@master")
    (hacs,) = steps_using(validate, "hacs/action@main")
    assert hacs["with"] == {"category": "integration"}  # no check ignored
    runs = [step.get("run", "") for job in ci["jobs"].values() for step in job["steps"]]
    assert "bash .ci/run" in runs
    assert any("GITHUB_REF_NAME" in run and "manifest.json" in run for run in runs)


# -- brand images (Home Assistant 2026.3+ serves custom_components/<domain>/brand/) -------

ICONS = {"icon.png": 256, "icon@2x.png": 512, "dark_icon.png": 256, "dark_icon@2x.png": 512}
LOGOS = {"logo.png": 256, "logo@2x.png": 512, "dark_logo.png": 256, "dark_logo@2x.png": 512}


@pytest.mark.parametrize("name", [*ICONS, *LOGOS])
def test_brand_image(name: str) -> None:
    with Image.open(INTEGRATION / "brand" / name) as image:
        assert image.format == "PNG"
        assert image.mode == "RGBA"  # transparent background
        alpha = image.getchannel("A")
        assert alpha.getextrema()[0] == 0, "no transparent pixel"
        # Trimmed: the drawing reaches every edge (nothing but the drawing's own corners).
        assert alpha.getbbox() == (0, 0, image.width, image.height)
        if name in ICONS:
            assert image.size == (ICONS[name], ICONS[name])
        else:
            shortest = min(image.size)
            assert LOGOS[name] // 2 <= shortest <= LOGOS[name]
            assert shortest == LOGOS[name]  # the largest allowed is preferred
            assert image.width >= image.height  # landscape preferred


def test_brand_has_nothing_else() -> None:
    assert {path.name for path in (INTEGRATION / "brand").iterdir()} == {*ICONS, *LOGOS}


# -- services.yaml ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/."""


async def test_services_yaml_matches_the_actions(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    registered = hass.services.async_services_for_domain(DOMAIN)
    described = load_yaml_dict(str(INTEGRATION / "services.yaml"))
    assert set(described) == set(registered)
    for name, service in registered.items():
        assert service.schema is not None
        schema_fields = {str(key) for key in service.schema.schema}
        yaml_fields = set(described[name].get("fields") or {})
        assert yaml_fields == schema_fields, name
        for field, spec in described[name]["fields"].items():
            assert "selector" in spec, f"{name}.{field}"
    for language in LANGUAGES:
        strings = translations(language)["services"]
        assert set(strings) == set(described), language
        for name, spec in described.items():
            assert strings[name]["name"]
            assert strings[name]["description"]
            assert set(strings[name]["fields"]) == set(spec["fields"]), (language, name)
            for field in spec["fields"]:
                text = strings[name]["fields"][field]
                assert text["name"], (language, name, field)
                assert text["description"], (language, name, field)


def test_icons() -> None:
    icons = json.loads((INTEGRATION / "icons.json").read_text("utf-8"))
    strings = translations("en")
    assert set(icons["services"]) == set(strings["services"])
    for platform, entities in strings["entity"].items():
        assert set(icons["entity"][platform]) == set(entities), platform
    assert set(icons["entity"]) == set(strings["entity"])


# -- hassfest's schemas: translations, selectors, actions, icons, manifest ------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_follow_hassfest(language: str) -> None:
    assert translation_problems(translations(language)) == []


def plant(tree: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `tree` with `value` at the dotted `path` (created as needed)."""
    copy = json.loads(json.dumps(tree))
    *parents, last = path.split(".")
    node = copy
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return copy


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        # The issue's finding: hassfest refuses an upper-case translation key.
        ("entity.sensor.last_message.state.Unknown", "Unknown", "state.Unknown: invalid key"),
        (
            "selector.currency.unit_of_measurement.RUB",
            "RUB",
            "unit_of_measurement.RUB: invalid key",
        ),
        ("entity.sensor.Balance", {"name": "Balance"}, "entity.sensor.Balance: invalid key"),
        ("entity.sensor.last_message.state.sent_", "Sent", "state.sent_: invalid key"),
        (
            "services.send_message.fields.Phones",
            {"name": "x", "description": "y"},
            "Phones: invalid key",
        ),
        ("exceptions.Flash", {"message": "x"}, "exceptions.Flash: invalid key"),
        ("entity.sensor.last_message.state.sent", "Sent {n}", "placeholders are not supported"),
        ("config.step.user.data_description.nothing", "x", "described but not in data"),
        ("config.error.unknown", "See https://example.com/help", "a URL"),
        ("config.error.unknown", " Unknown", "leading or trailing spaces"),
        ("config.error.unknown", "<b>Unknown</b>", "holds HTML"),
        ("config.error.unknown", "Got '{error}'", "single quotes"),
        ("options.step.init.unknown_key", "x", "not a key hassfest knows"),
        ("services.send_message.fields.phones.name", 5, "not a text"),
        ("config_subentries.recipient.entry_type", None, "not a text"),
    ],
)
def test_the_rules_find_what_hassfest_refuses(path: str, value: Any, problem: str) -> None:
    """Planted into a copy of the English file, each fault is reported, with its place."""
    planted = translation_problems(plant(translations("en"), path, value))

    assert len(planted) == 1, planted
    assert problem in planted[0]
    assert planted[0].startswith(path.rsplit(".", 1)[0])


def test_services_yaml_follows_hassfest() -> None:
    described = load_yaml_dict(str(INTEGRATION / "services.yaml"))
    assert services_problems(described, translations("en")) == []

    # Planted: a selector Home Assistant does not have, an unknown field key, a slug.
    described["send_message"]["fields"]["phones"]["selector"] = {"telephone": {}}
    described["send_message"]["fields"]["title"]["label"] = "Title"
    described["Lookup"] = None
    assert sorted(services_problems(described, translations("en"))) == [
        "Lookup: not a slug",
        "send_message.fields.phones.selector: Unknown selector type telephone found",
        "send_message.fields.title.label: not a key hassfest knows here",
    ]


def test_icons_follow_hassfest() -> None:
    icons = json.loads((INTEGRATION / "icons.json").read_text("utf-8"))
    assert icons_problems(icons) == []

    planted = plant(icons, "entity.sensor.last_message.state.Sent", "message")
    planted["entity"]["sensor"]["balance"]["state"] = {"low": "mdi:cash"}
    assert sorted(icons_problems(planted)) == [
        "entity.sensor.balance.state.low: the default icon again (remove it)",
        "entity.sensor.last_message.state.Sent: invalid key",
        "entity.sensor.last_message.state.Sent: not an icon (mdi:...)",
    ]


def test_manifest_follows_hassfest() -> None:
    manifest = json.loads((INTEGRATION / "manifest.json").read_text("utf-8"))
    assert manifest_problems(manifest, INTEGRATION.name) == []

    shuffled = {"name": manifest["name"], **manifest, "homeassistant": "2026.3.4"}
    assert sorted(manifest_problems(shuffled, INTEGRATION.name)) == [
        "homeassistant: not a key hassfest knows",
        "keys: not sorted (domain, name, then alphabetical)",
    ]


# -- translations: used, existing, reachable ------------------------------------------------


def test_both_languages_have_the_same_keys() -> None:
    def keys(tree: Any, prefix: str = "") -> set[str]:
        if not isinstance(tree, dict):
            return {prefix}
        return set().union(*(keys(value, f"{prefix}.{key}") for key, value in tree.items()))

    english, russian = (keys(translations(language)) for language in LANGUAGES)
    assert english == russian


def test_every_exception_key_exists_and_is_reachable() -> None:
    exceptions = set(translations("en")["exceptions"])
    used = keyword_values("translation_key") - keyword_values(
        "translation_key", "config_flow", "recipient_flow"
    )
    # Keys the code builds: a client's named send problem, a gateway failure by its kind.
    built = {problem.value for problem in SendProblem} | set(ERROR_KEYS.values())
    built |= {f"failure_{kind.value}" for kind in ErrorKind}  # `error_details`
    issues = set(translations("en")["issues"])
    entity_keys = {key for platform in translations("en")["entity"].values() for key in platform}
    used -= issues | entity_keys
    assert used <= exceptions, "translation_key used in code without a text"
    assert built <= exceptions, "a key the code builds has no text"
    # Reachable: given as a literal (`translation_key="x"`, `key = "x"`) or built.
    assert exceptions <= string_constants() | built, "exceptions nothing raises"


def test_entity_issue_and_selector_keys_exist_and_are_used() -> None:
    strings = translations("en")
    for platform, entities in strings["entity"].items():
        assert (INTEGRATION / f"{platform}.py").is_file(), platform
        used = keyword_values("translation_key", platform)
        assert set(entities) == used & set(entities), platform
        descriptions = string_constants(platform)
        assert set(entities) <= descriptions, platform
    # The repair issues of files that could not be read are named in one table.
    assert set(strings["issues"]) <= keyword_values(
        "translation_key", "coordinator", "reports", "spending"
    ) | string_constants("issues")
    described = load_yaml_dict(str(INTEGRATION / "services.yaml"))
    in_actions = {
        selector["translation_key"]
        for action in described.values()
        for spec in (action.get("fields") or {}).values()
        for selector in (spec.get("selector") or {}).values()
        if isinstance(selector, dict) and "translation_key" in selector
    }
    assert (
        set(strings["selector"])
        == keyword_values("translation_key", "config_flow", "recipient_flow") | in_actions
    )


def flow_steps(class_name: str, module_name: str = "config_flow") -> set[str]:
    """The steps a flow class defines (`async_step_<id>`)."""
    module = next(module for path, module in modules() if path.stem == module_name)
    flow = next(
        node for node in module.body if isinstance(node, ast.ClassDef) and node.name == class_name
    )
    return {
        node.name.removeprefix("async_step_")
        for node in flow.body
        if isinstance(node, ast.AsyncFunctionDef) and node.name.startswith("async_step_")
    }


def test_flow_keys_exist_and_are_used() -> None:
    strings = translations("en")
    literals = string_constants("config_flow", "const", "webhook", "validation", "recipient_flow")
    # The recipient's escalation is checked as the action's is: its errors are those keys.
    literals |= string_constants("checks")
    # Range errors are built from the field's key (`_check_ranges`).
    numbers = set(OPTION_RANGES) | {
        field.key
        for provider in GATEWAY_TYPES
        for field in description_of(provider).fields
        if field.type is FieldType.NUMBER
    }
    literals |= {f"{key}_range" for key in numbers}
    recipient = strings["config_subentries"]["recipient"]
    # Steps that show a form (reauth only forwards to reauth_confirm).
    assert set(strings["config"]["step"]) == flow_steps("RuSmsConfigFlow") - {"reauth"}
    assert set(strings["options"]["step"]) == flow_steps("RuSmsOptionsFlow")
    assert set(recipient["step"]) == flow_steps("RecipientSubentryFlow", "recipient_flow")
    # Errors and aborts: each a literal of the flow module (or Home Assistant's own abort).
    home_assistant_aborts = {"already_configured"}  # _abort_if_unique_id_configured
    for section in (strings["config"], strings["options"], recipient):
        for key in section.get("error", {}):
            assert key in literals, key
        for key in section.get("abort", {}):
            assert key in literals | home_assistant_aborts, key
    errors_in_code = {
        node.value.value
        for path, module in modules()
        if path.stem in {"config_flow", "recipient_flow"}
        for node in ast.walk(module)
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Subscript)
        and isinstance(node.targets[0].value, ast.Name)
        and node.targets[0].value.id == "errors"
        and isinstance(node.value, ast.Constant)
    }
    known_errors = (
        set(strings["config"]["error"]) | set(strings["options"]["error"]) | set(recipient["error"])
    )
    assert errors_in_code <= known_errors


# -- the quality scale rules hassfest checks on the code -----------------------------------

TYPED_ENTRY = re.compile(r"^[A-Za-z]+ConfigEntry$")
ENTRY_FUNCTIONS = {
    "__init__": (
        "async_migrate_entry",
        "async_remove_config_entry_device",
        "async_remove_entry",
        "async_setup_entry",
        "async_unload_entry",
    ),
    "diagnostics": ("async_get_config_entry_diagnostics", "async_get_device_diagnostics"),
    **{platform.value: ("async_setup_entry",) for platform in Platform},
}


def test_runtime_data_and_typed_config_entry() -> None:
    """Hassfest's `runtime_data` rule, with its strict-typing part (typed ConfigEntry)."""
    parsed = dict(modules())
    errors: list[str] = []
    init = parsed[INTEGRATION / "__init__.py"]
    setup = next(
        node
        for node in init.body
        if isinstance(node, ast.AsyncFunctionDef) and node.name == "async_setup_entry"
    )
    entry_name = setup.args.args[1].arg
    assert any(
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == entry_name
        and node.attr == "runtime_data"
        and isinstance(node.ctx, ast.Store)
        for node in ast.walk(setup)
    ), "async_setup_entry does not set entry.runtime_data"
    for stem, functions in ENTRY_FUNCTIONS.items():
        module = parsed.get(INTEGRATION / f"{stem}.py")
        for node in module.body if module else []:
            if isinstance(node, ast.AsyncFunctionDef) and node.name in functions:
                annotation = node.args.args[1].annotation
                if not (isinstance(annotation, ast.Name) and TYPED_ENTRY.match(annotation.id)):
                    errors.append(f"{node.name} does not use typed ConfigEntry in {stem}.py")
    for node in parsed[INTEGRATION / "config_flow.py"].body:
        for item in node.body if isinstance(node, ast.ClassDef) else []:
            if isinstance(item, ast.FunctionDef) and item.name == "async_get_options_flow":
                annotation = item.args.args[0].annotation
                if not (isinstance(annotation, ast.Name) and TYPED_ENTRY.match(annotation.id)):
                    errors.append("async_get_options_flow does not use typed ConfigEntry")
    assert errors == []


def test_no_plain_config_entry_annotation() -> None:
    """Beyond hassfest: no `ConfigEntry` or `ConfigEntry[Any]` annotation where runtime data is read.

    The services below the account take a plain entry and never read its runtime data
    (test_architecture.py).
    """
    plain = [
        f"{path.name}:{node.lineno}"
        for path, module in modules()
        if any(
            isinstance(node, ast.Attribute) and node.attr == "runtime_data"
            for node in ast.walk(module)
        )
        for node in ast.walk(module)
        if isinstance(node, ast.arg | ast.AnnAssign)
        and node.annotation is not None
        and re.fullmatch(r"ConfigEntry(\[Any\])?", ast.unparse(node.annotation))
    ]
    assert plain == []


def test_parallel_updates_in_every_platform() -> None:
    for platform in Platform:
        path = INTEGRATION / f"{platform.value}.py"
        if not path.is_file():
            continue
        module = ast.parse(path.read_text("utf-8"))
        assert any(
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "PARALLEL_UPDATES"
            for node in module.body
        ), platform


def test_quality_scale_is_current() -> None:
    """Every rule of the current quality scale listed; every exemption explained."""
    scale = load_yaml_dict(str(INTEGRATION / "quality_scale.yaml"))["rules"]
    rules = {
        # Bronze
        "action-setup", "appropriate-polling", "brands", "common-modules",
        "config-flow-test-coverage", "config-flow", "dependency-transparency",
        "docs-actions", "docs-high-level-description", "docs-installation-instructions",
        "docs-removal-instructions", "entity-event-setup", "entity-unique-id",
        "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup",
        "unique-config-entry",
        # Silver
        "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
        "docs-installation-parameters", "entity-unavailable", "integration-owner",
        "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
        # Gold
        "devices", "diagnostics", "discovery-update-info", "discovery", "docs-conditions",
        "docs-data-update", "docs-examples", "docs-known-limitations",
        "docs-supported-devices", "docs-supported-functions", "docs-triggers",
        "docs-troubleshooting", "docs-use-cases", "dynamic-devices", "entity-category",
        "entity-device-class", "entity-disabled-by-default", "entity-translations",
        "exception-translations", "icon-translations", "reconfiguration-flow",
        "repair-issues", "stale-devices",
        # Platinum
        "async-dependency", "inject-websession", "strict-typing",
    }  # fmt: skip
    assert set(scale) == rules
    for rule, value in scale.items():
        status = value if isinstance(value, str) else value["status"]
        assert status in {"done", "todo", "exempt"}, rule
        if status == "exempt":
            assert value["comment"], rule
    # Rules no exemption is accepted for.
    for rule in ("brands", "runtime-data", "strict-typing", "config-flow", "entity-unique-id"):
        assert scale[rule] == "done" or scale[rule]["status"] == "done", rule


def test_readme_screenshots() -> None:
    """Every screenshot the README shows is in the repository, small; none is left unused."""
    readme = (REPOSITORY / "README.md").read_text("utf-8")
    shown = set(re.findall(r"docs/screenshots/([\w.-]+\.png)", readme))
    kept = {path.name for path in (REPOSITORY / "docs" / "screenshots").glob("*")}
    assert shown == kept
    for name in kept:
        path = REPOSITORY / "docs" / "screenshots" / name
        assert path.stat().st_size < 100_000, name
        with Image.open(path) as image:
            assert image.format == "PNG"
