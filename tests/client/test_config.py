"""Settings: flag beats environment beats default; http only to loopback; a quiet key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulk_sync.config import ApiKey, ApiSettings, check_api_url
from bulk_sync.errors import ConfigError


def test_flag_beats_environment_beats_default(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-file\n")
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
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        check_api_url(url)


def test_missing_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ECHOWIN_API_KEY"):
        ApiSettings.resolve(env={})
    with pytest.raises(ConfigError, match="cannot read"):
        ApiSettings.resolve(api_key_file=tmp_path / "absent", env={})
    empty = tmp_path / "empty"
    empty.write_text("  \n")
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
