"""Settings: defaults < config.yaml < environment < (admin overrides, except what env pins)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from mediarip.config import (
    ConfigError,
    Settings,
    defaults,
    load_settings,
    settings_to_dict,
    with_overrides,
)

BCRYPT_HASH = "$2b$12$" + "a" * 53


def load(tmp_path: Path, yaml_text: str | None = None, **env: str) -> Settings:
    """Load with a config.yaml in tmp_path (if given) and MEDIARIP__... variables."""
    if yaml_text is not None:
        (tmp_path / "config.yaml").write_text(yaml_text)
    return load_settings(environ=env, cwd=tmp_path)


def problems(tmp_path: Path, yaml_text: str | None = None, **env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, yaml_text, **env)
    return str(caught.value)


# --- defaults and layering -------------------------------------------------------------------


def test_defaults_start_on_a_laptop_with_no_config(tmp_path: Path) -> None:
    settings = load(tmp_path)
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8000
    assert settings.server.data_dir == tmp_path / "data"
    assert settings.server.log_level == "info"
    assert settings.server.api_key is None
    assert settings.server.trusted_proxies == ()
    assert settings.server.secure_cookies is None
    assert settings.downloads.output_dir == tmp_path / "downloads"
    assert settings.downloads.max_concurrent == 3
    assert settings.downloads.max_probes == 4
    assert settings.downloads.source_templates == {"*": "%(title)s [%(id)s].%(ext)s"}
    assert settings.downloads.allow_private_networks is False
    assert settings.downloads.socket_timeout == 20.0
    assert settings.downloads.rate_limit is None
    assert settings.downloads.recover_on_start == "resume"
    assert settings.ytdlp.extractor_args == {}
    assert settings.ytdlp.extra_options == {}
    assert settings.session.mode == "isolated"
    assert settings.session.timeout_hours == 72
    assert settings.purge.enabled is True
    assert settings.purge.max_age_minutes == 1440
    assert settings.purge.schedule == "*/15 * * * *"
    assert settings.purge.privacy_mode is False
    assert settings.purge.privacy_retention_minutes == 1440
    assert settings.ui.welcome_message == ""
    assert settings.ui.theme_dark == "cyberpunk"
    assert settings.ui.theme_light == "light"
    assert settings.ui.theme_default_mode == "system"
    assert settings.ui.themes_dir is None
    assert settings.admin.enabled is True
    assert settings.admin.username == "admin"
    assert settings.admin.password is None
    assert settings.admin.password_hash is None
    assert settings.pinned == frozenset()


def test_defaults_helper_ignores_config_yaml_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.yaml").write_text("server: {port: 9000}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEDIARIP__SERVER__HOST", "0.0.0.0")
    settings = defaults()
    assert settings.server.port == 8000
    assert settings.server.host == "127.0.0.1"
    assert settings.server.data_dir == tmp_path / "data"


def test_config_yaml_overrides_defaults(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        """
server:
  host: 0.0.0.0
  port: 9000
  data_dir: /data
downloads:
  output_dir: media
  max_concurrent: 5
  socket_timeout: 30
  source_templates:
    YouTube.com: "%(uploader)s/%(title)s.%(ext)s"
purge:
  schedule: "0 3 * * *"
ui:
  themes_dir: themes
""",
    )
    assert settings.server.host == "0.0.0.0"
    assert settings.server.port == 9000
    assert settings.server.data_dir == Path("/data")
    assert settings.downloads.output_dir == tmp_path / "media"
    assert settings.downloads.max_concurrent == 5
    assert settings.downloads.socket_timeout == 30.0
    assert settings.downloads.source_templates == {
        "*": "%(title)s [%(id)s].%(ext)s",
        "youtube.com": "%(uploader)s/%(title)s.%(ext)s",
    }
    assert settings.purge.schedule == "0 3 * * *"
    assert settings.ui.themes_dir == tmp_path / "themes"
    assert settings.downloads.max_probes == 4  # untouched keys keep their default


def test_environment_overrides_config_yaml(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        "downloads:\n  max_concurrent: 5\n  max_probes: 6\n",
        MEDIARIP__DOWNLOADS__MAX_CONCURRENT="7",
    )
    assert settings.downloads.max_concurrent == 7
    assert settings.downloads.max_probes == 6


def test_config_file_can_be_named_by_argument_or_mediarip_config(tmp_path: Path) -> None:
    (tmp_path / "custom.yaml").write_text("server: {port: 9100}\n")
    (tmp_path / "config.yaml").write_text("server: {port: 9200}\n")
    by_argument = load_settings(environ={}, config_path=Path("custom.yaml"), cwd=tmp_path)
    by_variable = load_settings(environ={"MEDIARIP_CONFIG": "custom.yaml"}, cwd=tmp_path)
    assert by_argument.server.port == 9100
    assert by_variable.server.port == 9100


def test_a_named_config_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml not found.*MEDIARIP_CONFIG"):
        load_settings(environ={"MEDIARIP_CONFIG": "nope.yaml"}, cwd=tmp_path)
    with pytest.raises(ConfigError, match=r"nope\.yaml not found"):
        load_settings(environ={}, config_path=Path("nope.yaml"), cwd=tmp_path)


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    message = problems(tmp_path, "server:\n  port: 8000\n  host: [oops\n")
    assert message.startswith(f"{tmp_path / 'config.yaml'}, line 4: invalid YAML: ")
    assert message.endswith("(while parsing a flow sequence on line 3)")
    message = problems(tmp_path, "server:\n  port: 8000\n   host: x\n")
    assert message.startswith(f"{tmp_path / 'config.yaml'}, line 3: invalid YAML: ")


def test_empty_config_yaml_is_fine(tmp_path: Path) -> None:
    assert load(tmp_path, "").server.port == 8000


# --- environment parsing ---------------------------------------------------------------------


def test_environment_values_are_read_as_yaml(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        MEDIARIP__SERVER__PORT="9001",
        MEDIARIP__DOWNLOADS__ALLOW_PRIVATE_NETWORKS="true",
        MEDIARIP__SERVER__SECURE_COOKIES="false",
        MEDIARIP__DOWNLOADS__SOURCE_TEMPLATES='{"vimeo.com": "vimeo/%(id)s.%(ext)s"}',
        MEDIARIP__SERVER__TRUSTED_PROXIES="[10.0.0.0/8, 192.168.1.1]",
        MEDIARIP__DOWNLOADS__SOCKET_TIMEOUT="2.5",
    )
    assert settings.server.port == 9001
    assert settings.downloads.allow_private_networks is True
    assert settings.server.secure_cookies is False
    assert settings.downloads.source_templates["vimeo.com"] == "vimeo/%(id)s.%(ext)s"
    assert "*" in settings.downloads.source_templates
    assert settings.server.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.1/32"),
    )
    assert settings.downloads.socket_timeout == 2.5


def test_environment_section_and_key_are_case_insensitive(tmp_path: Path) -> None:
    settings = load(tmp_path, MEDIARIP__downloads__Max_Concurrent="2")
    assert settings.downloads.max_concurrent == 2
    assert settings.pinned == {"downloads.max_concurrent"}


def test_text_settings_from_environment_are_taken_verbatim(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        MEDIARIP__ADMIN__PASSWORD="no",
        MEDIARIP__PURGE__SCHEDULE="*/5 * * * *",
        MEDIARIP__UI__WELCOME_MESSAGE="Hello: world # not a comment",
        MEDIARIP__SERVER__API_KEY="0123456789012345678",
    )
    assert settings.admin.password == "no"
    assert settings.purge.schedule == "*/5 * * * *"
    assert settings.ui.welcome_message == "Hello: world # not a comment"
    assert settings.server.api_key == "0123456789012345678"


def test_secure_cookies_accepts_auto(tmp_path: Path) -> None:
    assert load(tmp_path, MEDIARIP__SERVER__SECURE_COOKIES="auto").server.secure_cookies is None
    assert load(tmp_path, "server: {secure_cookies: true}").server.secure_cookies is True
    assert load(tmp_path, "server: {secure_cookies: auto}").server.secure_cookies is None


def test_empty_environment_variable_clears_an_optional_setting(tmp_path: Path) -> None:
    settings = load(tmp_path, "downloads: {rate_limit: 5M}\n", MEDIARIP__DOWNLOADS__RATE_LIMIT="")
    assert settings.downloads.rate_limit is None


def test_other_variables_are_ignored(tmp_path: Path) -> None:
    settings = load(tmp_path, MEDIARIP_DEBUG="1", PATH="/bin")
    assert settings.pinned == frozenset()


# --- bad values name the key, the value and the source ----------------------------------------


def test_bad_environment_value_names_key_value_and_variable(tmp_path: Path) -> None:
    assert problems(tmp_path, MEDIARIP__DOWNLOADS__MAX_CONCURRENT="abc") == (
        "downloads.max_concurrent: expected an integer from 1 to 32, got 'abc'"
        " (from environment variable MEDIARIP__DOWNLOADS__MAX_CONCURRENT)"
    )


@pytest.mark.parametrize(
    ("yaml_text", "key", "expected"),
    [
        ("server: {port: 70000}", "server.port", "an integer from 0 to 65535"),
        ("server: {port: true}", "server.port", "an integer from 0 to 65535"),
        ("server: {log_level: loud}", "server.log_level", "one of debug, info, warning, error"),
        ("server: {secure_cookies: maybe}", "server.secure_cookies", "true, false or auto"),
        ("downloads: {max_probes: 0}", "downloads.max_probes", "an integer from 1 to 32"),
        ("downloads: {socket_timeout: 0}", "downloads.socket_timeout", "above 0"),
        ("downloads: {socket_timeout: 301}", "downloads.socket_timeout", "at most 300"),
        ("downloads: {allow_private_networks: 'yes'}", "downloads.allow_private_networks", "true"),
        ("downloads: {recover_on_start: retry}", "downloads.recover_on_start", "resume, fail"),
        ("downloads: {output_dir: ''}", "downloads.output_dir", "a path"),
        ("session: {mode: public}", "session.mode", "isolated, shared, open"),
        ("session: {timeout_hours: 0}", "session.timeout_hours", "a positive integer"),
        ("purge: {max_age_minutes: -5}", "purge.max_age_minutes", "a positive integer"),
        ("purge: {schedule: 'every day'}", "purge.schedule", "cron expression of 5 fields"),
        ("purge: {schedule: '61 * * * *'}", "purge.schedule", "from 0 to 59"),
        ("purge: {schedule: '*/0 * * * *'}", "purge.schedule", "steps above 0"),
        ("ui: {theme_default_mode: dim}", "ui.theme_default_mode", "dark, light, system"),
        ("ui: {theme_dark: ../evil}", "ui.theme_dark", "a theme name"),
        ("admin: {username: ''}", "admin.username", "a non-empty name"),
        ("ytdlp: {extractor_args: [a]}", "ytdlp.extractor_args", "a map from extractor"),
        ("ytdlp: {extra_options: {retries: -1}}", "ytdlp.extra_options.retries", "at least 0"),
    ],
)
def test_each_kind_of_bad_value_names_the_key_and_the_file(
    tmp_path: Path, yaml_text: str, key: str, expected: str
) -> None:
    message = problems(tmp_path, yaml_text)
    assert message.startswith(f"{key}: expected ")
    assert expected in message
    assert f"(from {tmp_path / 'config.yaml'})" in message


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    message = problems(
        tmp_path,
        "server: {port: -1}\ndownloads: {max_concurent: 2}\n",
        MEDIARIP__SESSION__MODE="nope",
    )
    lines = message.splitlines()
    assert len(lines) == 3
    assert any(line.startswith("server.port:") for line in lines)
    assert any("downloads.max_concurent" in line for line in lines)
    assert any(line.startswith("session.mode:") for line in lines)


def test_bad_config_file_value_is_reported_even_when_environment_overrides_it(
    tmp_path: Path,
) -> None:
    message = problems(tmp_path, "server: {port: http}", MEDIARIP__SERVER__PORT="8080")
    assert message.startswith("server.port:")


def test_unknown_yaml_key_suggests_the_right_one(tmp_path: Path) -> None:
    message = problems(tmp_path, "downloads:\n  max_concurent: 3\n")
    assert message == (
        f"unknown key downloads.max_concurent in {tmp_path / 'config.yaml'};"
        " did you mean max_concurrent?"
    )


def test_unknown_yaml_section_is_an_error(tmp_path: Path) -> None:
    message = problems(tmp_path, "dowloads:\n  max_concurrent: 3\n")
    assert "unknown section dowloads" in message
    assert "did you mean downloads?" in message


def test_unknown_environment_key_names_the_variable(tmp_path: Path) -> None:
    message = problems(tmp_path, MEDIARIP__DOWNLOADS__MAX_CONCURENT="3")
    assert "MEDIARIP__DOWNLOADS__MAX_CONCURENT" in message
    assert "did you mean max_concurrent?" in message
    message = problems(tmp_path, MEDIARIP__NOPE__PORT="3")
    assert "unknown section nope in environment variable MEDIARIP__NOPE__PORT" in message
    message = problems(tmp_path, MEDIARIP__SERVER="3")
    assert "MEDIARIP__SERVER: expected a name of the form MEDIARIP__SECTION__KEY" in message


def test_environment_value_that_is_not_yaml_is_reported(tmp_path: Path) -> None:
    message = problems(tmp_path, MEDIARIP__SERVER__TRUSTED_PROXIES="[10.0.0.0/8")
    assert message.startswith("server.trusted_proxies: expected a YAML value")
    assert "MEDIARIP__SERVER__TRUSTED_PROXIES" in message


# --- output templates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("/etc/%(id)s.%(ext)s", "relative"),
        ("~/%(id)s.%(ext)s", "relative"),
        ("../%(id)s.%(ext)s", ".."),
        ("a/../../%(id)s.%(ext)s", ".."),
        ("%(title)s/..", ".."),
        ("a\\\\b.%(ext)s", "backslash"),
        ("", "template"),
        ("%(title)999999999s.%(ext)s", "too big"),
        ("%(title).99999f.%(ext)s", "too big"),
        ("%(titel)s.%(ext)s", "not a field"),
    ],
)
def test_templates_that_could_escape_the_downloads_folder_are_refused(
    tmp_path: Path, template: str, reason: str
) -> None:
    message = problems(tmp_path, f'downloads:\n  source_templates:\n    "*": "{template}"\n')
    assert message.startswith("downloads.source_templates['*']: expected")
    assert reason in message


def test_template_problems_name_the_domain(tmp_path: Path) -> None:
    message = problems(
        tmp_path, MEDIARIP__DOWNLOADS__SOURCE_TEMPLATES='{"Vimeo.com": "../x", "not a domain": "x"}'
    )
    assert "downloads.source_templates['vimeo.com']: expected a template without a .." in message
    assert "got 'not a domain'" in message


def test_dots_inside_names_are_not_parent_folders(tmp_path: Path) -> None:
    template = "%(uploader)s/..%(title)s...%(ext)s"
    settings = load(tmp_path, MEDIARIP__DOWNLOADS__SOURCE_TEMPLATES=f'{{"*": "{template}"}}')
    assert settings.downloads.source_templates["*"] == template


# --- rate limit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "rate"),
    [("500K", 500 * 1024), ("5M", 5 * 1024**2), ("1.5M", int(1.5 * 1024**2)), ("1g", 1024**3)],
)
def test_rate_limit_accepts_binary_suffixes(tmp_path: Path, value: str, rate: int) -> None:
    assert load(tmp_path, MEDIARIP__DOWNLOADS__RATE_LIMIT=value).downloads.rate_limit == rate


def test_rate_limit_accepts_plain_bytes_per_second(tmp_path: Path) -> None:
    assert load(tmp_path, "downloads: {rate_limit: 250000}").downloads.rate_limit == 250000
    assert load(tmp_path, MEDIARIP__DOWNLOADS__RATE_LIMIT="1000").downloads.rate_limit == 1000


@pytest.mark.parametrize("value", ["0", "-5", "fast", "5T", "1.5", "0K", "true"])
def test_rate_limit_refuses_nonsense(tmp_path: Path, value: str) -> None:
    message = problems(tmp_path, MEDIARIP__DOWNLOADS__RATE_LIMIT=value)
    assert message.startswith("downloads.rate_limit: expected a positive number of bytes")


# --- trusted proxies -------------------------------------------------------------------------


def test_trusted_proxies_take_addresses_and_networks(tmp_path: Path) -> None:
    settings = load(
        tmp_path, "server:\n  trusted_proxies: [10.0.0.0/8, 172.16.0.1, '::1', 'fd00::/8']\n"
    )
    assert [str(n) for n in settings.server.trusted_proxies] == [
        "10.0.0.0/8",
        "172.16.0.1/32",
        "::1/128",
        "fd00::/8",
    ]
    assert all(
        isinstance(n, ipaddress.IPv4Network | ipaddress.IPv6Network)
        for n in settings.server.trusted_proxies
    )


def test_trusted_proxies_from_a_comma_separated_variable(tmp_path: Path) -> None:
    settings = load(tmp_path, MEDIARIP__SERVER__TRUSTED_PROXIES="10.0.0.0/8, ::1")
    assert [str(n) for n in settings.server.trusted_proxies] == ["10.0.0.0/8", "::1/128"]


def test_trusted_proxies_garbage_is_refused_item_by_item(tmp_path: Path) -> None:
    message = problems(tmp_path, "server:\n  trusted_proxies: [10.0.0.0/8, proxy.lan, 10.0.0.1/8]")
    lines = message.splitlines()
    assert lines[0].startswith("server.trusted_proxies[1]: expected an IP address or a CIDR")
    assert "'proxy.lan'" in lines[0]
    assert lines[1].startswith("server.trusted_proxies[2]:")
    assert "did you mean 10.0.0.0/8?" in lines[1]
    assert problems(tmp_path, "server: {trusted_proxies: 42}").startswith(
        "server.trusted_proxies: expected a list"
    )


# --- yt-dlp passthrough ----------------------------------------------------------------------


def test_extractor_args_and_allowed_extra_options(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        """
ytdlp:
  extractor_args:
    YouTube: {player_client: [android, web], max_comments: [100]}
    generic: {impersonate: "chrome,firefox"}
  extra_options:
    retries: 5
    http_headers: {Accept-Language: en}
    format_sort: [res, ext]
    check_formats: selected
""",
    )
    assert settings.ytdlp.extractor_args == {
        "youtube": {"player_client": ("android", "web"), "max_comments": ("100",)},
        "generic": {"impersonate": ("chrome", "firefox")},
    }
    assert settings.ytdlp.extra_options == {
        "retries": 5,
        "http_headers": {"Accept-Language": "en"},
        "format_sort": ("res", "ext"),
        "check_formats": "selected",
    }


def test_extra_options_outside_the_allow_list_are_refused(tmp_path: Path) -> None:
    message = problems(tmp_path, "ytdlp:\n  extra_options: {outtmpl: '/etc/x', retries: 3}\n")
    assert message.startswith("ytdlp.extra_options: expected an allowed yt-dlp option")
    assert "got 'outtmpl'" in message
    assert "retries, fragment_retries" in message and "format_sort" in message


# --- pinned keys and admin overrides ---------------------------------------------------------


def test_environment_pins_its_keys(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        "session: {mode: shared}",
        MEDIARIP__DOWNLOADS__MAX_CONCURRENT="4",
        MEDIARIP__UI__THEME_DARK="midnight",
    )
    assert settings.pinned == {"downloads.max_concurrent", "ui.theme_dark"}


def test_overrides_apply_over_yaml_but_never_over_the_environment(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        "downloads: {max_probes: 2}",
        MEDIARIP__DOWNLOADS__MAX_CONCURRENT="4",
    )
    changed = with_overrides(
        settings,
        {
            "downloads.max_concurrent": 9,
            "downloads.max_probes": 8,
            "downloads.rate_limit": "2M",
            "ui.welcome_message": "Hi",
        },
    )
    assert changed.downloads.max_concurrent == 4
    assert changed.downloads.max_probes == 8
    assert changed.downloads.rate_limit == 2 * 1024**2
    assert changed.ui.welcome_message == "Hi"
    assert changed.pinned == settings.pinned
    assert settings.downloads.max_probes == 2  # the original is untouched


def test_overrides_are_validated_and_name_the_key(tmp_path: Path) -> None:
    settings = load(tmp_path)
    with pytest.raises(ConfigError) as caught:
        with_overrides(
            settings,
            {"downloads.max_concurrent": 99, "session.mood": "x"},
            source="admin settings",
        )
    lines = str(caught.value).splitlines()
    assert lines == [
        "unknown key session.mood in admin settings; did you mean session.mode?",
        "downloads.max_concurrent: expected an integer from 1 to 32, got 99 (from admin settings)",
    ]


def test_overrides_of_paths_and_templates(tmp_path: Path) -> None:
    changed = with_overrides(
        load(tmp_path),
        {
            "downloads.output_dir": "/srv/media",
            "downloads.source_templates": {"example.com": "ex/%(id)s.%(ext)s"},
        },
    )
    assert changed.downloads.output_dir == Path("/srv/media")
    assert set(changed.downloads.source_templates) == {"*", "example.com"}


# --- secrets ---------------------------------------------------------------------------------


def test_secrets_stay_out_of_repr_and_settings_to_dict(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        f"admin:\n  password: hunter2hunter2\n  password_hash: '{BCRYPT_HASH}'\n",
        MEDIARIP__SERVER__API_KEY="k" * 24,
    )
    assert settings.admin.password == "hunter2hunter2"
    assert settings.admin.password_hash == BCRYPT_HASH
    assert settings.server.api_key == "k" * 24
    for text in (repr(settings), json.dumps(settings_to_dict(settings))):
        assert "hunter2" not in text
        assert BCRYPT_HASH not in text
        assert "k" * 24 not in text
    plain = settings_to_dict(settings)
    assert plain["admin"]["password"] is None
    assert plain["admin"]["password_hash"] is None
    assert plain["server"]["api_key"] is None


def test_secrets_stay_out_of_error_messages(tmp_path: Path) -> None:
    message = problems(
        tmp_path,
        "admin: {password_hash: not-a-hash-XYZZY}",
        MEDIARIP__SERVER__API_KEY="short-PLUGH",
    )
    assert "XYZZY" not in message
    assert "PLUGH" not in message
    assert "server.api_key: expected at least 16 characters" in message
    assert "admin.password_hash: expected a bcrypt hash" in message


def test_settings_to_dict_is_plain_json(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        "server: {trusted_proxies: [10.0.0.0/8]}\n"
        "ytdlp: {extractor_args: {youtube: {player_client: [web]}}}\n",
    )
    plain = settings_to_dict(settings)
    assert json.loads(json.dumps(plain)) == plain
    assert plain["server"]["data_dir"] == str(tmp_path / "data")
    assert plain["server"]["trusted_proxies"] == ["10.0.0.0/8"]
    assert plain["ytdlp"]["extractor_args"] == {"youtube": {"player_client": ["web"]}}
    assert set(plain) == {
        "server",
        "downloads",
        "ytdlp",
        "session",
        "purge",
        "subscriptions",
        "ui",
        "admin",
        "metrics",
        "auth",
        "database",
    }


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load(tmp_path)
    with pytest.raises(AttributeError):
        settings.server.port = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.downloads.source_templates["*"] = "x"  # type: ignore[index]
