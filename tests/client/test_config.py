"""Settings: flag beats environment beats default; http only to loopback; a quiet key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_sync.config import ApiKey, ApiSettings, check_api_url
from bulk_sync.errors import ConfigError


def test_flag_beats_environment_beats_default(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-file\n")
    key_file.chmod(0o600)
    env = {"ECHOWIN_API_URL": "https://env.example", "ECHOWIN_API_KEY": "from-env"}
    flagged = ApiSettings.resolve(api_url="https://flag.example/", api_key_file=key_file, env=env)
    assert flagged.url == "https://flag.example"
    assert flagged.api_key == ApiKey("from-file")
    from_env = ApiSettings.resolve(env=env)
    assert from_env.url == "https://env.example" and from_env.api_key == ApiKey("from-env")
    default = ApiSettings.resolve(env={"ECHOWIN_API_KEY": "k"})
    assert default.url == "https://echo.win"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8765",
        "http://localhost:8765",
        "http://[::1]:8765",
        "http://127.3.4.5",
        "https://echo.win",
    ],
)
def test_plain_http_is_allowed_only_to_loopback(url: str) -> None:
    assert check_api_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://echo.win",
        "http://10.0.0.8:8765",
        "ftp://echo.win",
        "echo.win",
        "https://user:pw@echo.win",
        "https://echo.win:port",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        check_api_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://sk_live_K3Y@echo.win",
        "https://user:sk_live_K3Y@echo.win/api",
        "https://echo.win/?api_key=sk_live_K3Y",
        "https://echo.win/v1?key=sk_live_K3Y&x=1",
        "https://echo.win#sk_live_K3Y",
        "sk_live_K3Y",  # the key itself, set as the URL by mistake
        "sk_live_K3Y@echo.win",
        "https://echo.win:sk_live_K3Y",
    ],
)
def test_a_url_that_may_hold_the_key_is_refused_without_showing_it(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_api_url(url)
    assert "sk_live_K3Y" not in str(caught.value)


@pytest.mark.parametrize(("mode", "who"), [(0o644, "readable"), (0o640, "readable"),
                                           (0o604, "readable"), (0o620, "writable")])  # fmt: skip
def test_a_key_file_others_can_open_is_refused_as_ssh_does(
    tmp_path: Path, mode: int, who: str
) -> None:
    key_file = tmp_path / "key.txt"
    key_file.write_text("sk_live_K3Y\n")
    key_file.chmod(mode)
    with pytest.raises(ConfigError) as caught:
        ApiSettings.resolve(api_key_file=key_file, env={})
    assert str(caught.value) == (
        f"{key_file} is {who} by others (mode {mode:04o}): run chmod 600 {key_file}"
    )
    key_file.chmod(0o400)
    assert ApiSettings.resolve(api_key_file=key_file, env={}).api_key == ApiKey("sk_live_K3Y")


def test_missing_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ECHOWIN_API_KEY"):
        ApiSettings.resolve(env={})
    with pytest.raises(ConfigError, match="cannot read"):
        ApiSettings.resolve(api_key_file=tmp_path / "absent", env={})
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    empty.chmod(0o600)
    with pytest.raises(ConfigError, match="is empty"):
        ApiSettings.resolve(api_key_file=empty, env={})


def test_the_key_hides_from_repr_str_and_pickle() -> None:
    import pickle

    settings = ApiSettings.resolve(env={"ECHOWIN_API_KEY": "s3cr3t-key"})
    for text in (repr(settings), str(settings), repr(settings.api_key), f"{settings.api_key}"):
        assert "s3cr3t-key" not in text
    with pytest.raises(TypeError):
        pickle.dumps(settings.api_key)
    assert settings.api_key.reveal() == "s3cr3t-key"
