"""Typed, read-only settings of the worker, validated once at start-up (ARCHITECTURE.md §8).

Three layers, highest priority first:

1. keyword arguments to :class:`Settings` (tests, the demo);
2. the environment: every secret, plus ``ZAIKO_*`` overrides of any config value
   (``ZAIKO_SYNC__INTERVAL_SECONDS=30``; ``__`` separates nesting levels). The
   ecosystem's usual names ``GOOGLE_APPLICATION_CREDENTIALS``, ``SLACK_BOT_TOKEN`` and
   ``SLACK_CHANNEL`` are accepted as aliases;
3. a TOML file with the non-secret defaults: ``$ZAIKO_CONFIG``, else
   ``config/zaiko.toml`` in the working directory, else the packaged
   ``config/zaiko.example.toml``; the built-in defaults below equal that file.

What staff change day to day lives in the sheet's 設定 tab, not here.

Errors are collected, never raised one by one: :func:`load_settings` raises a single
:class:`SettingsError` listing every problem in plain Japanese, each prefixed with the
key to fix (``ZAIKO_SYNC__INTERVAL_SECONDS: 数値で指定してください（'abc'）``). Secret
values never appear in those messages, in ``repr`` or in :meth:`Settings.describe`.

Nothing here reads the environment or a file at import time.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as SourceError

from adapters.base import ChannelConfig, Url
from bot.core import words
from bot.infra.secretbox import SecretBox, SecretBoxError
from bot.infra.sections import AlertsConfig, Section, SheetConfig, SyncConfig

if TYPE_CHECKING:
    from adapters.base import MallAdapter

ENV_PREFIX = "ZAIKO_"
NESTED_DELIMITER = "__"
CONFIG_ENV = "ZAIKO_CONFIG"
"""Environment variable naming the TOML file to read."""
DEFAULT_CONFIG_PATH = Path("config") / "zaiko.toml"
"""The shop's own config, relative to the working directory (the Procfile's root)."""
EXAMPLE_CONFIG_NAME = "zaiko.example.toml"
"""Packaged defaults (package ``config``), used when the shop has no zaiko.toml."""

MASK = "****"
UNSET = "(未設定)"


class SettingsError(Exception):
    """Settings that cannot run the bot; ``problems`` lists every one, secret-free."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"- {problem}" for problem in self.problems)
        heading = words.say("settings.problems", count=len(self.problems))
        super().__init__(f"{heading}\n{lines}")


# --------------------------------------------------------------------------- settings


class Settings(BaseSettings):
    """Everything the worker needs from outside the sheet, frozen after start-up.

    Secrets are ``SecretStr | None`` (None: not set); what a command needs is checked
    by :meth:`problems_for_run`, so ``demo`` and ``check`` work with nothing set.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        case_sensitive=False,
        env_ignore_empty=True,
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        hide_input_in_errors=True,
    )

    # -- the sheet and Slack
    sheet_id: str | None = None
    """Spreadsheet id (a pasted sheet URL is accepted and reduced to its id)."""
    google_service_account_json: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON", "GOOGLE_APPLICATION_CREDENTIALS"
        ),
    )
    """Service account key: the JSON itself, a path to the JSON file, or base64 JSON."""
    google_sheets_base_url: Url = "https://sheets.googleapis.com"
    """Where Sheets calls go ('' = Google); ``python -m bot sandbox`` serves one on 127.0.0.1."""
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ZAIKO_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN")
    )
    """None: alerts go to the console."""
    slack_channel: str = Field(
        default="#zaiko", validation_alias=AliasChoices("ZAIKO_SLACK_CHANNEL", "SLACK_CHANNEL")
    )
    secret_key: SecretStr | None = None
    """Fernet key(s) for rotating mall tokens kept in ``_state`` ("new,old" to rotate)."""

    # -- config file sections
    sync: SyncConfig = SyncConfig()
    sheet: SheetConfig = SheetConfig()
    alerts: AlertsConfig = AlertsConfig()
    malls: dict[str, ChannelConfig] = Field(default_factory=dict)
    """``[malls.<key>]`` per registered channel, each validated by that channel's ``Config``."""

    _config_file: str = PrivateAttr(default="")

    def __init__(self, **values: Any) -> None:
        """Build from keyword arguments, the environment and the config file.

        Raises SettingsError listing every problem (never a pydantic ValidationError,
        whose text could quote a secret).
        """
        with _load_context(os.environ, None) as ctx:
            try:
                super().__init__(**values)
            except ValidationError as err:
                problems = ctx.problems + [_explain(e, ctx) for e in err.errors()]
                raise SettingsError(_redact(problems, ctx, values)) from None
            except SourceError:
                # Our sources record their own problems; this is a last resort.
                problems = [*ctx.problems, words.say("settings.env_unreadable")]
                raise SettingsError(_redact(problems, ctx, values)) from None
            if ctx.problems:
                raise SettingsError(_redact(ctx.problems, ctx, values))
            self._config_file = ctx.config_label

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init kwargs > environment (the mapping being loaded) > TOML > defaults."""
        ctx = _CONTEXT.get()
        if ctx is None:  # only when pydantic-settings is driven directly
            ctx = _LoadContext.build(os.environ, None)
        return (
            init_settings,
            _MappingEnvSource(settings_cls, ctx),
            _TomlDataSource(settings_cls, ctx.toml),
        )

    # -- validators

    @field_validator("*", mode="before")
    @classmethod
    def _blank_secret_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        """An empty or blank secret means "not set"; surrounding whitespace is a paste slip."""
        if info.field_name not in secret_field_names():
            return value
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and not raw.strip():
            return None
        return raw.strip() if isinstance(raw, str) else raw

    @field_validator("google_service_account_json", mode="after")
    @classmethod
    def _load_service_account(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        text = _json_text_from(value.get_secret_value())
        try:
            info = json.loads(text)
        except ValueError:
            raise ValueError(words.say("settings.service_account_not_json")) from None
        if not isinstance(info, dict) or not {"client_email", "private_key"} <= info.keys():
            raise ValueError(words.say("settings.service_account_not_key"))
        return SecretStr(text)

    @field_validator("secret_key", mode="after")
    @classmethod
    def _check_fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                SecretBox(value)
            except SecretBoxError as err:
                raise ValueError(err.detail) from None
        return value

    @field_validator("sheet_id", mode="before")
    @classmethod
    def _sheet_id_from_url(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = value.strip()
        match = re.search(r"/spreadsheets/d/([A-Za-z0-9_-]+)", value)
        if match:
            value = match.group(1)
        if not value:
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
            raise ValueError(words.say("settings.sheet_id_malformed", value=repr(value)))
        return value

    @field_validator("malls", mode="before")
    @classmethod
    def _channel_tables(cls, value: Any) -> Any:
        """Each table through its channel's ``Config``; problems go to the load's list."""
        model = _malls_model(tuple((k, a.Config) for k, a in _registry().items()))
        try:
            tables = model.model_validate(value if value is not None else {})
        except ValidationError as err:
            ctx = _CONTEXT.get()
            if ctx is None:
                raise
            for error in err.errors():
                error["loc"] = ("malls", *error["loc"])
                ctx.problems.append(_explain(error, ctx))
            tables = model()
        return {key: getattr(tables, key) for key in type(tables).model_fields}

    @model_validator(mode="after")
    def _ledger_covers_cancel_window(self) -> Settings:
        if self.sheet.sales_log_min_days < self.sync.cancel_window_days:
            raise ValueError(
                words.say(
                    "settings.sales_log_too_short",
                    min_days=self.sheet.sales_log_min_days,
                    window_days=self.sync.cancel_window_days,
                )
            )
        return self

    # -- questions the rest of the bot asks

    @property
    def config_file(self) -> str:
        """Where the non-secret defaults came from (for ``check``)."""
        return self._config_file

    def enabled_malls(self) -> list[str]:
        """Keys of the channels switched on, in registry order."""
        return [key for key in _registry() if key in self.malls and self.malls[key].enabled]

    def mall(self, key: str) -> ChannelConfig:
        """The ``[malls.<key>]`` table; KeyError for a channel this version does not know."""
        return self.malls[key]

    def google_service_account_info(self) -> dict[str, Any] | None:
        """The parsed service account key (for gspread), or None when not set."""
        if self.google_service_account_json is None:
            return None
        info: dict[str, Any] = json.loads(self.google_service_account_json.get_secret_value())
        return info

    def google_service_account_email(self) -> str | None:
        """The address staff must share the sheet with (not a secret)."""
        info = self.google_service_account_info()
        return str(info["client_email"]) if info else None

    def secret_box(self) -> SecretBox:
        """A SecretBox on ``ZAIKO_SECRET_KEY``; SecretBoxError when it is not set."""
        if self.secret_key is None:
            raise SecretBoxError(words.say("settings.secret_key_unset", env=env_name("secret_key")))
        return SecretBox(self.secret_key)

    def problems_for_run(self) -> list[str]:
        """What ``run``/``once`` need but is missing, one Japanese message per item."""
        problems: list[str] = []
        if not self.sheet_id:
            problems.append(words.say("settings.sheet_id_unset", env=env_name("sheet_id")))
        if self.google_service_account_json is None:
            problems.append(
                words.say(
                    "settings.service_account_unset",
                    env=env_name("google_service_account_json"),
                    alias="GOOGLE_APPLICATION_CREDENTIALS",
                )
            )
        enabled = self.enabled_malls()
        if not enabled:
            any_mall = words.text("settings.any_mall")
            problems.append(
                words.say(
                    "settings.no_mall_enabled",
                    env=env_name("malls", any_mall, "enabled"),
                    first=next(iter(_registry()), any_mall),
                )
            )
        return problems + [p for key in enabled for p in self.channel_problems(key)]

    def channel_problems(self, key: str) -> list[str]:
        """What one enabled channel needs but is missing (its declared credentials)."""
        declared = _registry()[key]
        config = self.malls[key]
        problems = [
            words.say(
                "settings.channel_credential_unset",
                env=channel_env_name(key, name),
                channel=declared.channel.name,
                credential=config.required[name],
            )
            for name in config.missing()
        ]
        if declared.channel.rotating_tokens and self.secret_key is None:
            problems.append(
                words.say(
                    "settings.channel_secret_key_unset",
                    env=env_name("secret_key"),
                    channel=declared.channel.name,
                )
            )
        return problems

    def describe(self) -> dict[str, Any]:
        """Every setting, secrets masked as ``****`` (``(未設定)`` when unset): safe to print."""
        described: dict[str, Any] = {"config_file": self.config_file or UNSET}
        described.update(_describe_model(self))
        described["google_service_account_email"] = self.google_service_account_email() or UNSET
        return described


def load_settings(
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
    **overrides: Any,
) -> Settings:
    """Read and validate the settings once, at start-up.

    ``env`` replaces ``os.environ`` entirely (tests and the sandbox pass a dict and stay
    independent of the real environment). ``config_path`` beats ``$ZAIKO_CONFIG`` and
    the default locations. ``overrides`` beat both (the sandbox's sheet id and channel
    tables). Raises SettingsError listing every problem at once.
    """
    with _load_context(os.environ if env is None else env, config_path):
        return Settings(**overrides)


def env_name(field_name: str, *nested: str) -> str:
    """The environment variable that sets a field.

    ``env_name("sync", "interval_seconds")`` is ``ZAIKO_SYNC__INTERVAL_SECONDS``; for
    an aliased field it is the ``ZAIKO_`` name (``ZAIKO_SLACK_BOT_TOKEN``).
    """
    if nested:
        return (ENV_PREFIX + NESTED_DELIMITER.join((field_name, *nested))).upper()
    return _env_names(field_name)[0]


def secret_field_names() -> tuple[str, ...]:
    """Names of the shop-wide Settings fields that hold secrets (channels' are apart)."""
    return tuple(
        name for name, info in Settings.model_fields.items() if _is_secret_annotation(info)
    )


def channel_env_name(key: str, field_name: str) -> str:
    """Where a channel's secret comes from: ``ZAIKO_<KEY>_<FIELD>``."""
    return f"{ENV_PREFIX}{key}_{field_name}".upper()


def channel_secret_env_names() -> dict[str, tuple[str, str]]:
    """Environment name → (channel key, field) for every registered channel's secrets."""
    return {
        channel_env_name(key, name): (key, name)
        for key, adapter in _registry().items()
        for name in adapter.Config.secret_fields()
    }


def _registry() -> Mapping[str, type[MallAdapter]]:
    """The channel registry as it is now (a test may have registered one more)."""
    from adapters import ADAPTERS

    return ADAPTERS


@cache
def _malls_model(configs: tuple[tuple[str, type[ChannelConfig]], ...]) -> type[BaseModel]:
    """One frozen model with a table per channel: typos in a table or a key are reported."""
    fields: dict[str, Any] = {key: (config, config()) for key, config in configs}
    model: type[BaseModel] = create_model("MallsConfig", __base__=Section, **fields)
    return model


# --------------------------------------------------------------------------- sources


@dataclass
class _LoadContext:
    """One load: the environment being read, the parsed TOML, problems found so far."""

    env: dict[str, str]
    """Lower-cased name → stripped, non-empty value."""
    names: dict[str, str]
    """Lower-cased name → the name as written (for messages)."""
    toml: dict[str, Any]
    config_label: str
    config_name: str
    problems: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, environ: Mapping[str, str], config_path: Path | None) -> _LoadContext:
        env: dict[str, str] = {}
        names: dict[str, str] = {}
        for key, value in environ.items():
            if not value.strip():
                continue
            env[key.lower()] = value.strip()
            names[key.lower()] = key
        problems: list[str] = []
        toml, label, name = _read_config(env, config_path, problems)
        _refuse_secrets_in_file(toml, name, problems)
        _channel_secrets_from_env(env, names, problems)
        return cls(env, names, toml, label, name, problems)


def _refuse_secrets_in_file(toml: dict[str, Any], name: str, problems: list[str]) -> None:
    """Secrets live only in the environment; one in the config file is a problem."""
    secrets = set(secret_field_names())
    flat = {n.lower(): n for n in channel_secret_env_names()}
    for key in list(toml):
        if _field_for(key) in secrets:
            del toml[key]
            problems.append(
                words.say(
                    "settings.secret_in_file", file=name, item=key, env=env_name(_field_for(key))
                )
            )
        elif (ENV_PREFIX + key).lower() in flat:
            del toml[key]
            problems.append(
                words.say(
                    "settings.secret_in_file",
                    file=name,
                    item=key,
                    env=flat[(ENV_PREFIX + key).lower()],
                )
            )
    tables = toml.get("malls")
    for env_var, (channel, field_name) in channel_secret_env_names().items():
        table = tables.get(channel) if isinstance(tables, dict) else None
        if isinstance(table, dict) and field_name in table:
            del table[field_name]
            problems.append(
                words.say(
                    "settings.secret_in_file",
                    file=name,
                    item=f"[malls.{channel}] {field_name}",
                    env=env_var,
                )
            )


def _channel_secrets_from_env(
    env: dict[str, str], names: dict[str, str], problems: list[str]
) -> None:
    """``ZAIKO_<KEY>_<FIELD>`` → ``malls.<key>.<field>``.

    A channel's secret has one environment name; the nested spelling
    (``ZAIKO_MALLS__<KEY>__<FIELD>``) is refused, so a secret is never read from
    two places that could disagree.
    """
    for env_var, (channel, field_name) in channel_secret_env_names().items():
        nested = env_name("malls", channel, field_name).lower()
        if nested in env:
            del env[nested]
            problems.append(
                words.say("settings.secret_wrong_name", name=names.pop(nested), env=env_var)
            )
        flat = env_var.lower()
        if flat in env:
            env[nested] = env.pop(flat)
            names[nested] = names.pop(flat)


_CONTEXT: ContextVar[_LoadContext | None] = ContextVar("zaiko_settings_load", default=None)


@contextmanager
def _load_context(environ: Mapping[str, str], config_path: Path | None) -> Iterator[_LoadContext]:
    """Use the current load's context, or open one (reading env and config) for this load."""
    current = _CONTEXT.get()
    if current is not None:
        yield current
        return
    ctx = _LoadContext.build(environ, config_path)
    token = _CONTEXT.set(ctx)
    try:
        yield ctx
    finally:
        _CONTEXT.reset(token)


def _read_config(
    env: Mapping[str, str], config_path: Path | None, problems: list[str]
) -> tuple[dict[str, Any], str, str]:
    """Parse the TOML file chosen by the rules in the module docstring."""
    explicit: Path | None = config_path
    origin = "config_path"
    if explicit is None and CONFIG_ENV.lower() in env:
        explicit, origin = Path(env[CONFIG_ENV.lower()]).expanduser(), CONFIG_ENV
    try:
        if explicit is not None:
            if not explicit.is_file():
                problems.append(
                    words.say("settings.config_missing", origin=origin, path=repr(str(explicit)))
                )
                return {}, str(explicit), explicit.name
            path = explicit
        elif DEFAULT_CONFIG_PATH.is_file():
            path = DEFAULT_CONFIG_PATH
        else:
            text = resources.files("config").joinpath(EXAMPLE_CONFIG_NAME).read_text("utf-8")
            label = words.say("settings.config_bundled", file=EXAMPLE_CONFIG_NAME)
            return _parse_toml(text, EXAMPLE_CONFIG_NAME, problems), label, EXAMPLE_CONFIG_NAME
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        where = str(explicit or DEFAULT_CONFIG_PATH)
        problems.append(
            words.say("settings.config_unreadable", path=where, error=type(err).__name__)
        )
        return {}, where, Path(where).name
    return _parse_toml(text, path.name, problems), str(path), path.name


def _parse_toml(text: str, name: str, problems: list[str]) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        problems.append(words.say("settings.toml_invalid", file=name, error=err))
        return {}


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' env source, reading the load's mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], ctx: _LoadContext) -> None:
        self._ctx = ctx
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return dict(self._ctx.env)

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        """Record an undecodable JSON value as a problem instead of aborting the load."""
        try:
            return super().prepare_field_value(field_name, field, value, value_is_complex)
        except ValueError:
            nested = env_name(field_name, words.text("settings.any_item"))
            self._ctx.problems.append(
                words.say("settings.env_json_invalid", env=env_name(field_name), nested=nested)
            )
            return self.explode_env_vars(field_name, field, self.env_vars) or None


class _TomlDataSource(PydanticBaseSettingsSource):
    """The already-parsed config file (read once per load, errors already recorded)."""

    def __init__(self, settings_cls: type[BaseSettings], data: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = dict(data)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """The table or value for one field, if the file has it."""
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        """All keys, unknown ones included, so typos are reported rather than ignored."""
        return dict(self._data)


# --------------------------------------------------------------------------- messages


def _json_text_from(value: str) -> str:
    """Service account JSON given inline, as a file path, or base64-encoded (Heroku)."""
    if value.startswith("{"):
        return value
    try:
        path = Path(value).expanduser()
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8").strip()
    except (binascii.Error, ValueError):
        decoded = ""
    if decoded.startswith("{"):
        return decoded
    raise ValueError(words.say("settings.service_account_unreadable"))


def _is_secret_annotation(info: FieldInfo) -> bool:
    return info.annotation is SecretStr or SecretStr in get_args(info.annotation)


def _env_names(field_name: str) -> list[str]:
    """Every environment name of a top-level field, the ZAIKO_ one first."""
    info = Settings.model_fields.get(field_name)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices):
        return [choice for choice in alias.choices if isinstance(choice, str)]
    return [(ENV_PREFIX + field_name).upper()]


def _field_for(key: str) -> str:
    """Map an error location head (field name or alias, any case) back to the field."""
    lowered = key.lower()
    for name in Settings.model_fields:
        if lowered == name or lowered in (n.lower() for n in _env_names(name)):
            return name
    return key


_NO_ECHO_TYPES = {"extra_forbidden", "missing", "value_error", "assertion_error"}

_MESSAGES = {
    "int_parsing": "settings.not_number",
    "int_type": "settings.not_number",
    "float_parsing": "settings.not_number",
    "float_type": "settings.not_number",
    "int_from_float": "settings.not_integer",
    "bool_parsing": "settings.not_bool",
    "bool_type": "settings.not_bool",
    "string_type": "settings.not_string",
    "string_pattern_mismatch": "settings.bad_format",
    "extra_forbidden": "settings.unknown_key",
    "missing": "settings.required",
    "model_type": "settings.not_table",
    "model_attributes_type": "settings.not_table",
    "dict_type": "settings.not_table",
    "json_invalid": "settings.json_invalid",
}
"""pydantic error type → the sentence that explains it."""

_LIMITS = {
    "greater_than_equal": ("settings.at_least", "ge"),
    "greater_than": ("settings.more_than", "gt"),
    "less_than_equal": ("settings.at_most", "le"),
    "less_than": ("settings.less_than", "lt"),
}
"""pydantic bound error type → (its sentence, the error context naming the bound)."""


def _explain(error: ErrorDetails, ctx: _LoadContext) -> str:
    """One pydantic error as 「KEY: 日本語（'value'）」, never echoing a secret."""
    path = [str(part) for part in error["loc"]]
    if path:
        path[0] = _field_for(path[0])
    kind = error["type"]
    details: Mapping[str, Any] = error.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        message = str(details.get("error", error["msg"]))
    elif kind in _MESSAGES:
        message = words.text(_MESSAGES[kind])
    elif kind in _LIMITS:
        key, bound = _LIMITS[kind]
        message = words.say(key, limit=_number(details.get(bound)))
    else:
        message = words.say("settings.invalid_value", kind=kind)
    secret = bool(path) and (
        path[0] in secret_field_names()
        or (len(path) == 3 and path[0] == "malls" and _is_channel_secret(path[1], path[2]))
    )
    if not secret and kind not in _NO_ECHO_TYPES and "input" in error:
        shown = error["input"]
        text = repr(shown) if isinstance(shown, str) else str(shown)
        message += f"（{text[:60]}）"
    label = _label(path, ctx)
    return f"{label}: {message}" if label else message


def _is_channel_secret(channel: str, field_name: str) -> bool:
    adapter = _registry().get(channel)
    return adapter is not None and field_name in adapter.Config.secret_fields()


def _number(value: Any) -> str:
    """``0.0`` → ``0`` in messages for people."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _label(path: list[str], ctx: _LoadContext) -> str:
    """The key a person must fix: the env variable that set it, else the TOML key."""
    if not path:
        return ""
    for depth in range(len(path), 0, -1):
        candidates = _env_names(path[0]) if depth == 1 else [env_name(path[0], *path[1:depth])]
        for candidate in candidates:
            if candidate.lower() in ctx.env:
                rest = ".".join(path[depth:])
                shown = ctx.names[candidate.lower()]
                return f"{shown}（{rest}）" if rest else shown
    node: Any = ctx.toml
    for part in path:
        if not isinstance(node, dict) or part not in node:
            break
        node = node[part]
    else:
        if len(path) == 1:
            return f"{ctx.config_name} {path[0]}"
        return f"{ctx.config_name} [{'.'.join(path[:-1])}] {path[-1]}"
    return env_name(path[0], *path[1:])


_SECRETISH_NAME = re.compile(r"TOKEN|SECRET|KEY|PASSWORD|CREDENTIAL|JSON|CLIENT|SELLER", re.I)


def _redact(problems: Iterable[str], ctx: _LoadContext, init: Mapping[str, Any]) -> list[str]:
    """Belt and braces: blank out any secret value that slipped into a message."""
    secret_names = {n.lower() for f in secret_field_names() for n in _env_names(f)}
    secret_names |= {
        env_name("malls", channel, field_name).lower()
        for channel, field_name in channel_secret_env_names().values()
    }
    values: set[str] = set()
    for key, value in ctx.env.items():
        if key in secret_names or (
            key.startswith(ENV_PREFIX.lower()) and _SECRETISH_NAME.search(key)
        ):
            values.add(value)
    for key, value in init.items():
        if key in secret_field_names():
            values.add(value.get_secret_value() if isinstance(value, SecretStr) else str(value))
    ordered = sorted((v for v in values if len(v) >= 4), key=len, reverse=True)
    cleaned: list[str] = []
    for problem in problems:
        for value in ordered:
            problem = problem.replace(value, MASK)
        cleaned.append(problem)
    return cleaned


def _describe_model(model: BaseModel) -> dict[str, Any]:
    return {name: _describe_value(getattr(model, name)) for name in type(model).model_fields}


def _describe_value(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, BaseModel):
        return _describe_model(value)
    if isinstance(value, dict):
        return {key: _describe_value(item) for key, item in value.items()}
    if value is None:
        return UNSET
    return value
