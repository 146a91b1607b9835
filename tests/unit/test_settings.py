"""Settings: layering (init > env > toml > defaults), aliases, errors, secret hygiene.

Every test passes its own environment mapping (or replaces ``os.environ``) and runs in
a temporary working directory, so nothing depends on the developer's shell or on a
``config/zaiko.toml`` in the checkout.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from adapters import ADAPTERS
from adapters.rakuten import RakutenConfig
from bot.infra.alerts.links import SHEET_URL
from bot.infra.secretbox import SecretBox, SecretBoxError
from bot.infra.settings import (
    AlertsConfig,
    Settings,
    SettingsError,
    SheetConfig,
    SyncConfig,
    channel_secret_env_names,
    env_name,
    load_settings,
    secret_field_names,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_TOML = REPO / "config" / "zaiko.example.toml"
ENV_EXAMPLE = REPO / "config" / "env.example"

SENTINEL = "SENTINEL-s3cr3t-value-9f8e7d"
SERVICE_ACCOUNT: dict[str, str] = {
    "type": "service_account",
    "project_id": "zaiko-test",
    "client_email": "zaiko-bot@zaiko-test.iam.gserviceaccount.com",
    "private_key": f"-----BEGIN PRIVATE KEY-----\n{SENTINEL}\n-----END PRIVATE KEY-----\n",
}
SERVICE_ACCOUNT_JSON = json.dumps(SERVICE_ACCOUNT)


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No stray config/zaiko.toml from the checkout is picked up."""
    monkeypatch.chdir(tmp_path)


def write_toml(tmp_path: Path, text: str, name: str = "zaiko.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(env: dict[str, str], config_path: Path | None = None) -> list[str]:
    with pytest.raises(SettingsError) as info:
        load_settings(env=env, config_path=config_path)
    return info.value.problems


# --------------------------------------------------------------------------- defaults


def test_defaults_load_without_any_env() -> None:
    settings = load_settings(env={})

    assert "zaiko.example.toml" in settings.config_file
    assert settings.sync.interval_seconds == 15
    assert settings.sync.order_overlap_seconds == 120
    assert settings.sync.cancel_window_days == 60
    assert settings.sheet.timeout_connect == 5
    assert settings.sheet.timeout_read == 30
    assert settings.sheet.retry_max_tries == 5
    assert settings.sheet.retry_max_seconds == 90
    assert settings.sheet.log_max_rows.op_log == 50_000
    assert settings.sheet.log_max_rows.sales_log == 200_000
    assert settings.sheet.log_max_rows.mall_log == 50_000
    assert settings.sheet.log_max_rows.error_log == 20_000
    assert settings.sheet.sales_log_min_days == 60
    assert settings.alerts.credential_warn_days == 14
    assert settings.alerts.daily_summary_at == "09:00"
    assert settings.mall("rakuten").base_url == "https://api.rms.rakuten.co.jp"
    assert settings.mall("rakuten").timeout == 10
    assert set(settings.malls) == set(ADAPTERS)  # a table per registered channel, no other
    assert settings.slack_channel == "#zaiko"
    assert settings.enabled_malls() == []
    for name in secret_field_names():
        assert getattr(settings, name) is None


def test_example_toml_matches_builtin_defaults(tmp_path: Path) -> None:
    from_example = load_settings(env={}, config_path=EXAMPLE_TOML)
    from_code = load_settings(env={}, config_path=write_toml(tmp_path, ""))

    assert from_example.sync == from_code.sync == SyncConfig()
    assert from_example.sheet == from_code.sheet == SheetConfig()
    assert from_example.alerts == from_code.alerts == AlertsConfig()
    assert from_example.malls == from_code.malls
    assert from_code.malls == {key: cls.Config() for key, cls in ADAPTERS.items()}
    assert from_code.malls["rakuten"] == RakutenConfig()


def test_example_toml_documents_every_key() -> None:
    data = tomllib.loads(EXAMPLE_TOML.read_text(encoding="utf-8"))
    text = EXAMPLE_TOML.read_text(encoding="utf-8")

    def keys(model: Any, prefix: str) -> list[str]:
        found: list[str] = []
        for name in type(model).model_fields:
            value = getattr(model, name)
            if hasattr(type(value), "model_fields"):
                found += keys(value, f"{prefix}{name}.")
            else:
                found.append(f"{prefix}{name}")
        return found

    settings = load_settings(env={}, config_path=EXAMPLE_TOML)
    sections = [(name, getattr(settings, name)) for name in ("sync", "sheet", "alerts")]
    sections += [(f"malls.{key}", config) for key, config in settings.malls.items()]
    for section, model in sections:
        secrets = model.secret_fields() if hasattr(model, "secret_fields") else ()
        for dotted in keys(model, f"{section}."):
            if dotted.rsplit(".", 1)[1] in secrets:
                continue  # secrets are environment-only (env.example)
            node: Any = data
            for part in dotted.split("."):
                assert part in node, f"{dotted} missing from zaiko.example.toml"
                node = node[part]
    # every key line is preceded by a comment line
    lines = [line.strip() for line in text.splitlines()]
    for index, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            assert lines[index - 1].startswith("#"), f"no comment above {line!r}"


def test_env_example_lists_every_variable() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    assigned = {
        line.split("=", 1)[0]: line.split("=", 1)[1]
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    for name in Settings.model_fields:
        if name not in ("sync", "sheet", "alerts", "malls"):
            assert env_name(name) in assigned, env_name(name)
    for name in channel_secret_env_names():
        assert name in assigned, name
    assert "ZAIKO_CONFIG" in assigned
    assert all(value == "" for value in assigned.values())


def test_importing_reads_no_environment() -> None:
    env = {**os.environ, "ZAIKO_SYNC__INTERVAL_SECONDS": "not-a-number"}
    done = subprocess.run(
        [sys.executable, "-c", "import bot.infra.settings, bot.infra.secretbox"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


# --------------------------------------------------------------------------- layering


def test_env_overrides_toml(tmp_path: Path) -> None:
    config = write_toml(
        tmp_path,
        """
        [sync]
        interval_seconds = 20
        order_overlap_seconds = 300
        [malls.rakuten]
        enabled = true
        timeout = 7
        """,
    )
    settings = load_settings(
        env={"ZAIKO_SYNC__INTERVAL_SECONDS": "30", "ZAIKO_MALLS__RAKUTEN__TIMEOUT": "8"},
        config_path=config,
    )

    assert settings.sync.interval_seconds == 30  # env beats toml
    assert settings.sync.order_overlap_seconds == 300  # toml beats default
    assert settings.sync.cancel_window_days == 60  # default
    assert settings.mall("rakuten").timeout == 8  # env beats toml inside a table too
    assert settings.enabled_malls() == ["rakuten"]  # the rest of the table still from toml
    assert settings.config_file == str(config)


def test_env_accepts_json_for_a_whole_section() -> None:
    settings = load_settings(env={"ZAIKO_SYNC": '{"interval_seconds": 25}'})
    assert settings.sync.interval_seconds == 25


def test_init_kwargs_beat_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        os, "environ", {"ZAIKO_SHEET_ID": "from-env", "ZAIKO_SYNC__INTERVAL_SECONDS": "30"}
    )
    settings = Settings(sheet_id="from-init")

    assert settings.sheet_id == "from-init"
    assert settings.sync.interval_seconds == 30


def test_config_file_selection(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    write_toml(tmp_path / "config", "[sync]\ninterval_seconds = 21\n")
    chosen = write_toml(tmp_path, "[sync]\ninterval_seconds = 22\n", "chosen.toml")
    argument = write_toml(tmp_path, "[sync]\ninterval_seconds = 23\n", "argument.toml")

    assert load_settings(env={}).sync.interval_seconds == 21  # ./config/zaiko.toml
    env = {"ZAIKO_CONFIG": str(chosen)}
    assert load_settings(env=env).sync.interval_seconds == 22
    assert load_settings(env=env, config_path=argument).sync.interval_seconds == 23


def test_empty_env_values_count_as_unset() -> None:
    settings = load_settings(
        env={"ZAIKO_SYNC__INTERVAL_SECONDS": "", "ZAIKO_SLACK_BOT_TOKEN": "  ", "ZAIKO_CONFIG": ""}
    )
    assert settings.sync.interval_seconds == 15
    assert settings.slack_bot_token is None


def test_settings_are_frozen() -> None:
    settings = load_settings(env={})
    with pytest.raises(ValidationError):
        settings.sheet_id = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        settings.sync.interval_seconds = 1  # type: ignore[misc]


# --------------------------------------------------------------------------- aliases


def test_slack_aliases() -> None:
    settings = load_settings(env={"SLACK_BOT_TOKEN": "xoxb-alias", "SLACK_CHANNEL": "#stock"})
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-alias"
    assert settings.slack_channel == "#stock"


def test_zaiko_name_wins_over_alias() -> None:
    settings = load_settings(
        env={"SLACK_BOT_TOKEN": "xoxb-alias", "ZAIKO_SLACK_BOT_TOKEN": "xoxb-zaiko"}
    )
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-zaiko"


def test_google_credentials_inline_json() -> None:
    settings = load_settings(env={"ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON": SERVICE_ACCOUNT_JSON})
    assert settings.google_service_account_info() == SERVICE_ACCOUNT
    assert settings.google_service_account_email() == SERVICE_ACCOUNT["client_email"]


def test_google_application_credentials_as_json() -> None:
    settings = load_settings(env={"GOOGLE_APPLICATION_CREDENTIALS": SERVICE_ACCOUNT_JSON})
    assert settings.google_service_account_info() == SERVICE_ACCOUNT


def test_google_application_credentials_as_file_path(tmp_path: Path) -> None:
    key_file = tmp_path / "service-account.json"
    key_file.write_text(SERVICE_ACCOUNT_JSON, encoding="utf-8")

    settings = load_settings(env={"GOOGLE_APPLICATION_CREDENTIALS": str(key_file)})

    assert settings.google_service_account_info() == SERVICE_ACCOUNT
    assert str(key_file) not in repr(settings)


def test_google_credentials_as_base64() -> None:
    encoded = base64.b64encode(SERVICE_ACCOUNT_JSON.encode()).decode()
    settings = load_settings(env={"ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON": encoded})
    assert settings.google_service_account_info() == SERVICE_ACCOUNT


def test_google_credentials_missing_file(tmp_path: Path) -> None:
    problems = problems_of({"GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "nope.json")})
    assert len(problems) == 1
    assert problems[0].startswith("GOOGLE_APPLICATION_CREDENTIALS: ")


def test_google_credentials_not_a_service_account() -> None:
    problems = problems_of({"ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON": json.dumps({"token": SENTINEL})})
    assert problems[0].startswith("ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON: ")
    assert "client_email" in problems[0]


# --------------------------------------------------------------------------- errors


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    config = write_toml(
        tmp_path,
        """
        [sync]
        cancel_window_days = "sixty"
        [alerts]
        daily_summary_at = "9時"
        [malls.rakuten]
        enabled = "maybe"
        [malls.rakuma]
        enabled = true
        """,
    )
    problems = problems_of(
        {
            "ZAIKO_SYNC__INTERVAL_SECONDS": "abc",
            "ZAIKO_SHEET__TIMEOUT_READ": "-1",
            "ZAIKO_MALLS__RAKUTEN__ENABLD": "true",
            "ZAIKO_MALLS__AMAZONN__ENABLED": "true",
        },
        config,
    )
    text = "\n".join(problems)

    assert "ZAIKO_SYNC__INTERVAL_SECONDS: 数値で指定してください（'abc'）" in problems
    assert "ZAIKO_SHEET__TIMEOUT_READ: 0 より大きくしてください（'-1'）" in problems
    assert "ZAIKO_MALLS__RAKUTEN__ENABLD: 不明な設定項目です（綴りを確認してください）" in problems
    assert "ZAIKO_MALLS__AMAZONN: 不明な設定項目です（綴りを確認してください）" in problems
    assert "zaiko.toml [sync] cancel_window_days: 数値で指定してください（'sixty'）" in problems
    assert (
        "zaiko.toml [malls.rakuten] enabled: true か false で指定してください（'maybe'）"
        in problems
    )
    assert "zaiko.toml [malls] rakuma: 不明な設定項目です（綴りを確認してください）" in problems
    assert "zaiko.toml [alerts] daily_summary_at: " in text
    assert len(problems) == 8


def test_settings_error_message_lists_every_problem() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env={"ZAIKO_SYNC__INTERVAL_SECONDS": "abc", "ZAIKO_SYNC__PUSH_ON_START": "x"})
    message = str(info.value)
    assert "2 件" in message
    assert "ZAIKO_SYNC__INTERVAL_SECONDS" in message
    assert "ZAIKO_SYNC__PUSH_ON_START" in message


def test_broken_toml_is_reported_with_env_problems(tmp_path: Path) -> None:
    config = write_toml(tmp_path, "[sync\ninterval_seconds = 15\n")
    problems = problems_of({"ZAIKO_SYNC__INTERVAL_SECONDS": "abc"}, config)
    assert any(p.startswith("zaiko.toml: TOML として読めません") for p in problems)
    assert any(p.startswith("ZAIKO_SYNC__INTERVAL_SECONDS:") for p in problems)


def test_missing_config_file_is_a_problem(tmp_path: Path) -> None:
    problems = problems_of({"ZAIKO_CONFIG": str(tmp_path / "missing.toml")})
    assert problems == [
        f"ZAIKO_CONFIG: 設定ファイルが見つかりません（{str(tmp_path / 'missing.toml')!r}）"
    ]


def test_bad_json_section_in_env() -> None:
    problems = problems_of({"ZAIKO_SYNC": "{not json", "ZAIKO_SHEET__RETRY_MAX_TRIES": "0"})
    assert any(p.startswith("ZAIKO_SYNC: JSON として読めません") for p in problems)
    assert "ZAIKO_SHEET__RETRY_MAX_TRIES: 1 以上にしてください（'0'）" in problems


def test_ledger_must_cover_the_cancel_window() -> None:
    problems = problems_of(
        {"ZAIKO_SYNC__CANCEL_WINDOW_DAYS": "90", "ZAIKO_SHEET__SALES_LOG_MIN_DAYS": "30"}
    )
    assert len(problems) == 1
    assert "sales_log_min_days" in problems[0]
    assert "cancel_window_days" in problems[0]


def test_bad_secret_key_is_reported() -> None:
    problems = problems_of({"ZAIKO_SECRET_KEY": "not-a-fernet-key"})
    assert problems[0].startswith("ZAIKO_SECRET_KEY: ")
    assert "not-a-fernet-key" not in problems[0]


# --------------------------------------------------------------------------- secrets


def all_secrets_env() -> dict[str, str]:
    """Every secret set to a value containing the sentinel (valid where validated)."""
    env = {env_name(name): f"{SENTINEL}-{name}" for name in secret_field_names()}
    env.update({name: f"{SENTINEL}-{name}" for name in channel_secret_env_names()})
    env[env_name("google_service_account_json")] = SERVICE_ACCOUNT_JSON
    env[env_name("secret_key")] = SecretBox.generate_key()
    return env


def test_secrets_never_appear_in_str_repr_or_describe() -> None:
    env = all_secrets_env()
    settings = load_settings(env=env)
    described = json.dumps(settings.describe(), ensure_ascii=False)

    for shown in (str(settings), repr(settings), described, settings.model_dump_json()):
        assert SENTINEL not in shown
        assert env[env_name("secret_key")] not in shown
    for name in secret_field_names():
        assert getattr(settings, name) is not None, name
        assert settings.describe()[name] == "****"
    for channel, field in channel_secret_env_names().values():
        assert getattr(settings.mall(channel), field) is not None, (channel, field)
        assert settings.describe()["malls"][channel][field] == "****"


def test_describe_marks_unset_values() -> None:
    described = load_settings(env={"ZAIKO_RAKUTEN_LICENSE_KEY": SENTINEL}).describe()

    assert described["malls"]["rakuten"]["license_key"] == "****"
    assert described["malls"]["rakuten"]["service_secret"] == "(未設定)"
    assert described["sheet_id"] == "(未設定)"
    assert described["sync"]["interval_seconds"] == 15
    assert described["malls"]["rakuten"]["enabled"] is False
    assert "zaiko.example.toml" in described["config_file"]
    json.dumps(described)  # printable as-is


def test_secrets_never_appear_in_settings_error(tmp_path: Path) -> None:
    env = all_secrets_env()
    env[env_name("secret_key")] = SENTINEL  # invalid Fernet key
    env["GOOGLE_APPLICATION_CREDENTIALS"] = SENTINEL  # neither JSON nor a file
    del env[env_name("google_service_account_json")]
    env["ZAIKO_MALLS__RAKUTEN__LICENSE_KEY"] = SENTINEL  # a secret put in the wrong place
    env["ZAIKO_SYNC"] = f'{{"interval_seconds": "{SENTINEL}"}}'
    env["ZAIKO_MALLS__RAKUTEN__TIMEOUT"] = SENTINEL
    config = write_toml(tmp_path, f'slack_bot_token = "{SENTINEL}"\n')

    with pytest.raises(SettingsError) as info:
        load_settings(env=env, config_path=config)

    message = str(info.value)
    assert len(info.value.problems) == 6
    assert SENTINEL not in message
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_secret_in_config_file_is_rejected(tmp_path: Path) -> None:
    config = write_toml(tmp_path, f'rakuten_license_key = "{SENTINEL}"\n')
    problems = problems_of({}, config)
    assert problems == [
        "zaiko.toml: rakuten_license_key は秘密情報なので設定ファイルには書けません"
        "（環境変数 ZAIKO_RAKUTEN_LICENSE_KEY で指定してください）"
    ]


def test_secret_under_an_alias_in_config_file_is_rejected(tmp_path: Path) -> None:
    config = write_toml(tmp_path, f'SLACK_BOT_TOKEN = "{SENTINEL}"\n')
    problems = problems_of({}, config)
    assert len(problems) == 1
    assert "ZAIKO_SLACK_BOT_TOKEN" in problems[0]
    assert SENTINEL not in problems[0]


def test_secret_box_from_settings() -> None:
    key = SecretBox.generate_key()
    box = load_settings(env={"ZAIKO_SECRET_KEY": key}).secret_box()
    assert SecretBox(key).decrypt(box.encrypt("token")) == "token"
    with pytest.raises(SecretBoxError):
        load_settings(env={}).secret_box()


# --------------------------------------------------------------------------- run needs


def test_problems_for_run_enabled_rakuten_without_keys() -> None:
    settings = load_settings(
        env={
            "ZAIKO_SHEET_ID": "1AbCdEfGhIjKlMnOp",
            "ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON": SERVICE_ACCOUNT_JSON,
            "ZAIKO_MALLS__RAKUTEN__ENABLED": "true",
        }
    )
    problems = settings.problems_for_run()

    assert [p.split(":", 1)[0] for p in problems] == [
        "ZAIKO_RAKUTEN_SERVICE_SECRET",
        "ZAIKO_RAKUTEN_LICENSE_KEY",
    ]
    assert all("楽天市場" in p for p in problems)


def test_problems_for_run_complete() -> None:
    settings = load_settings(
        env={
            "ZAIKO_SHEET_ID": "1AbCdEfGhIjKlMnOp",
            "GOOGLE_APPLICATION_CREDENTIALS": SERVICE_ACCOUNT_JSON,
            "ZAIKO_MALLS__RAKUTEN__ENABLED": "true",
            "ZAIKO_RAKUTEN_SERVICE_SECRET": "SP123_abc",
            "ZAIKO_RAKUTEN_LICENSE_KEY": "SL123_def",
        }
    )
    assert settings.problems_for_run() == []


def test_problems_for_run_nothing_set() -> None:
    problems = load_settings(env={}).problems_for_run()
    heads = [p.split(":", 1)[0] for p in problems]
    assert heads[0] == "ZAIKO_SHEET_ID"
    assert heads[1].startswith("ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON")
    assert "有効なモールがありません" in problems[2]


def test_problems_for_run_every_mall() -> None:
    env = {f"ZAIKO_MALLS__{key.upper()}__ENABLED": "true" for key in ADAPTERS}
    problems = load_settings(env=env).problems_for_run()
    heads = {p.split(":", 1)[0] for p in problems}
    for key, adapter in ADAPTERS.items():
        for name in adapter.Config.required:
            assert f"ZAIKO_{key}_{name}".upper() in heads, (key, name)


def test_secret_in_a_channel_table_is_rejected(tmp_path: Path) -> None:
    config = write_toml(tmp_path, f'[malls.rakuten]\nlicense_key = "{SENTINEL}"\n')
    problems = problems_of({}, config)
    assert problems == [
        "zaiko.toml: [malls.rakuten] license_key は秘密情報なので設定ファイルには書けません"
        "（環境変数 ZAIKO_RAKUTEN_LICENSE_KEY で指定してください）"
    ]


def test_unknown_channel_table_names_the_key(tmp_path: Path) -> None:
    problems = problems_of({}, write_toml(tmp_path, "[malls.rakuma]\nenabled = true\n"))
    assert problems == ["zaiko.toml [malls] rakuma: 不明な設定項目です（綴りを確認してください）"]


# --------------------------------------------------------------------------- normalisation


def test_sheet_id_accepts_a_pasted_url() -> None:
    url = SHEET_URL.format(sheet_id="1AbC-dEf_123") + "#gid=0"  # pasted text, never fetched
    assert load_settings(env={"ZAIKO_SHEET_ID": url}).sheet_id == "1AbC-dEf_123"


def test_unknown_mall_name() -> None:
    with pytest.raises(KeyError):
        load_settings(env={}).mall("rakuma")


def test_secret_str_kwargs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "environ", {})
    settings = Settings(
        slack_bot_token=SecretStr("xoxb-1"), malls={"rakuten": {"license_key": "  "}}
    )
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-1"
    assert settings.mall("rakuten").license_key is None  # type: ignore[attr-defined]
