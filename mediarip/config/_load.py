"""Loading the settings in layers: defaults < YAML file < environment, and the panel's overrides.

Each layer is a map of raw values with the source that gave them; every value of every layer is
run through its setting's parser, later layers winning, and every problem is collected, so a
:class:`ConfigError` names each bad key, what was expected and where the value came from (the
file, or the variable).
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath
from typing import Final, Literal

import attrs
import yaml

from ._fields import SECTIONS, Settings, declared, every_setting, fields_of
from ._parse import Invalid, Whole

ENV_PREFIX: Final = "MEDIARIP__"
CONFIG_ENV: Final = "MEDIARIP_CONFIG"


class ConfigError(Exception):
    """The configuration cannot be used. ``str()`` gives one problem per line."""

    def __init__(self, *problems: str) -> None:
        super().__init__(*problems)
        self.problems: tuple[str, ...] = problems

    def __str__(self) -> str:
        return "\n".join(self.problems)


# --- loading -----------------------------------------------------------------------------------


@attrs.frozen
class _Given:
    """A raw value for one setting, and the source that gave it."""

    value: object
    source: str


_Layer = dict[tuple[str, str], _Given]  # (section, key) -> value


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word.lower(), list(choices), n=1)
    return f"; did you mean {close[0]}?" if close else ""


def _show(value: object) -> str:
    text = repr(str(value) if isinstance(value, PurePath) else value)
    return text if len(text) <= 80 else text[:77] + "..."


def _problems(section: str, key: str, given: _Given, error: Invalid, *, secret: bool) -> list[str]:
    lines = []
    for flaw in error.flaws:
        got = given.value if flaw.got is Whole.VALUE else flaw.got
        shown = "a hidden value" if secret else _show(got)
        lines.append(
            f"{section}.{key}{flaw.at}: expected {flaw.expected}, got {shown} (from {given.source})"
        )
    return lines


def _apply(
    settings: Settings, layers: Iterable[_Layer], cwd: Path, problems: list[str]
) -> Settings:
    """Parse every value of every layer, later layers winning, and evolve ``settings``."""
    changes: dict[str, dict[str, object]] = {}
    for layer in layers:
        for (section, key), given in layer.items():
            field = fields_of(section)[key]
            try:
                value = declared(field).kind.parse(given.value)
            except Invalid as error:
                problems.extend(_problems(section, key, given, error, secret=not field.repr))
                continue
            if isinstance(value, Path) and not value.is_absolute():
                value = cwd / value
            changes.setdefault(section, {})[key] = value
    return attrs.evolve(
        settings,
        **{
            section: attrs.evolve(getattr(settings, section), **values)
            for section, values in changes.items()
        },
    )


def _default_layer() -> _Layer:
    # The defaults go through their parsers like any other value: that is what makes their
    # relative paths absolute.
    return {
        (section, field.name): _Given(field.default, "default")
        for section, cls in SECTIONS.items()
        for field in attrs.fields(cls)
    }


@attrs.frozen
class _ConfigFile:
    path: Path  # absolute
    shown: str  # as the user named it, for messages
    named_by: str = "config_path"


def _yaml_problem(shown: str, error: Exception) -> str:
    """Say where: "config.yaml, line 4: invalid YAML: ... (while parsing ... on line 3)"."""
    mark = getattr(error, "problem_mark", None)
    if mark is None:
        return f"{shown}: invalid YAML: {error}"
    message = f"{shown}, line {mark.line + 1}: invalid YAML: {getattr(error, 'problem', error)}"
    context, context_mark = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and context_mark is not None and context_mark.line != mark.line:
        message += f" ({context} on line {context_mark.line + 1})"
    return message


def _read_yaml(file: _ConfigFile, problems: list[str]) -> object:
    shown = file.shown
    try:
        text = file.path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"config file {shown} not found (named by {file.named_by})")
        return None
    except (OSError, UnicodeDecodeError) as error:
        problems.append(f"config file {shown} cannot be read: {error}")
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        problems.append(_yaml_problem(shown, error))
        return None


def _file_layer(document: object, source: str, problems: list[str]) -> _Layer:
    layer: _Layer = {}
    if document is None:
        return layer
    if not isinstance(document, Mapping):
        problems.append(
            f"{source}: expected a map of sections at the top level, got {_show(document)}"
        )
        return layer
    for section, values in document.items():
        if section not in SECTIONS:
            problems.append(
                f"unknown section {section} in {source}{_suggest(str(section), SECTIONS)}"
            )
            continue
        if values is None:
            continue
        if not isinstance(values, Mapping):
            problems.append(
                f"{section}: expected a map of settings, got {_show(values)} (from {source})"
            )
            continue
        fields = fields_of(section)
        for key, value in values.items():
            if key not in fields:
                problems.append(
                    f"unknown key {section}.{key} in {source}{_suggest(str(key), fields)}"
                )
                continue
            layer[section, key] = _Given(value, source)
    return layer


def _env_layer(environ: Mapping[str, str], problems: list[str]) -> _Layer:
    layer: _Layer = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        source = f"environment variable {name}"
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        if not section or not key:
            problems.append(f"{source}: expected a name of the form {ENV_PREFIX}SECTION__KEY")
            continue
        if section not in SECTIONS:
            problems.append(f"unknown section {section} in {source}{_suggest(section, SECTIONS)}")
            continue
        fields = fields_of(section)
        if key not in fields:
            problems.append(f"unknown key {section}.{key} in {source}{_suggest(key, fields)}")
            continue
        if (section, key) in layer:
            problems.append(
                f"{section}.{key} is set twice, by {layer[section, key].source} and {source}"
            )
            continue
        raw = environ[name]
        if declared(fields[key]).kind.text:
            layer[section, key] = _Given(raw, source)
            continue
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as error:
            problem = getattr(error, "problem", None) or "invalid YAML"
            problems.append(
                f"{section}.{key}: expected a YAML value, got {_show(raw)} ({problem})"
                f" (from {source})"
            )
            continue
        layer[section, key] = _Given(value, source)
    return layer


def _load(environ: Mapping[str, str], file: _ConfigFile | None, cwd: Path) -> Settings:
    problems: list[str] = []
    layers = [_default_layer()]
    if file is not None:
        document = _read_yaml(file, problems)
        layers.append(_file_layer(document, file.shown, problems))
    env = _env_layer(environ, problems)
    layers.append(env)
    settings = _apply(Settings(), layers, cwd, problems)
    if problems:
        raise ConfigError(*problems)
    return attrs.evolve(settings, pinned=frozenset(f"{s}.{k}" for s, k in env))


def load_settings(
    environ: Mapping[str, str] | None = None,
    config_path: Path | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Load defaults < YAML file < environment, or raise :class:`ConfigError` with every problem.

    ``environ`` defaults to ``os.environ`` and ``cwd`` to the working folder, against which the
    config file and relative paths are resolved. The file is ``config_path``, else the one named
    by ``MEDIARIP_CONFIG``, else ``config.yaml`` in ``cwd`` when it exists; a file that was named
    but is missing is an error.
    """
    environ = os.environ if environ is None else environ
    cwd = (Path.cwd() if cwd is None else cwd).absolute()
    file: _ConfigFile | None = None
    if config_path is not None:
        file = _ConfigFile(cwd / config_path, str(config_path))
    elif environ.get(CONFIG_ENV):
        named = environ[CONFIG_ENV]
        file = _ConfigFile(cwd / named, named, f"environment variable {CONFIG_ENV}")
    elif (cwd / "config.yaml").is_file():
        file = _ConfigFile(cwd / "config.yaml", str(cwd / "config.yaml"))
    return _load(environ, file, cwd)


def defaults() -> Settings:
    """The settings with no config file and no environment; paths relative to the working folder."""
    return _load({}, None, Path.cwd())


def with_overrides(
    settings: Settings, overrides: Mapping[str, object], source: str = "admin settings"
) -> Settings:
    """Apply dotted-key overrides ("downloads.max_concurrent": 5) over ``settings``.

    Values are checked as in :func:`load_settings` (relative paths against the working folder);
    keys the environment pinned are left alone. Raises :class:`ConfigError` naming each bad key.
    """
    problems: list[str] = []
    layer: _Layer = {}
    for dotted, value in overrides.items():
        section, _, key = dotted.partition(".")
        if section not in SECTIONS or key not in fields_of(section):
            known = [f"{s}.{k}" for s in SECTIONS for k in fields_of(s)]
            problems.append(f"unknown key {dotted} in {source}{_suggest(dotted, known)}")
        elif dotted not in settings.pinned:
            layer[section, key] = _Given(value, source)
    settings = _apply(settings, [layer], Path.cwd(), problems)
    if problems:
        raise ConfigError(*problems)
    return settings


def _plain(value: object) -> object:
    if isinstance(value, PurePath | ipaddress.IPv4Network | ipaddress.IPv6Network):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset):
        return [_plain(v) for v in value]
    return value


def settings_to_dict(settings: Settings) -> dict[str, dict[str, object]]:
    """JSON-able settings by section: paths and networks as strings, secrets as None."""
    return {
        section: {
            field.name: None
            if not field.repr
            else _plain(getattr(getattr(settings, section), field.name))
            for field in attrs.fields(cls)
        }
        for section, cls in SECTIONS.items()
    }


@attrs.frozen
class SettingFacts:
    """What a setting's declaration says, for a form that offers it (the admin panel)."""

    type: str
    help: str
    default: object
    optional: bool
    choices: list[str]
    minimum: float | None
    maximum: float | None
    panel: bool
    applies: Literal["now", "restart"]


def setting_facts() -> dict[str, SettingFacts]:
    """Dotted key -> its declared facts, for every setting but the secrets."""
    defaults = settings_to_dict(Settings())
    facts = {}
    for key, field, decl in every_setting():
        if not field.repr:
            continue
        section, _, name = key.partition(".")
        kind = decl.kind
        facts[key] = SettingFacts(
            type=kind.type,
            help=decl.help,
            default=defaults[section][name],
            optional=kind.optional,
            choices=list(kind.choices),
            minimum=kind.minimum,
            maximum=kind.maximum,
            panel=decl.panel,
            applies="restart" if decl.restart else "now",
        )
    return facts
