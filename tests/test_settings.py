"""Start-up settings a deployer can get wrong."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import jwt
import pytest

from core.settings import MIN_JWT_SECRET_BYTES, ConfigurationError, get_settings
from resolvers.auth import _hashing


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def test_a_short_jwt_secret_is_refused_at_start_up_with_how_to_make_one(
        fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.setenv("JWT_SECRET", "changeme")
    with pytest.raises(ConfigurationError, match=f"at least {MIN_JWT_SECRET_BYTES} bytes.*token_urlsafe"):
        get_settings()


def test_a_shared_database_without_a_jwt_secret_is_refused(
        fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.delenv("JWT_SECRET", raising=False)
    fresh_settings.setenv("DATABASE_URL", "postgres://root@127.0.0.1:5432/test")
    with pytest.raises(RuntimeError, match="JWT_SECRET must be set"):
        get_settings()


def test_the_embedded_default_generates_a_secret_pyjwt_accepts_without_warning(
        fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.delenv("JWT_SECRET", raising=False)
    fresh_settings.delenv("DATABASE_URL", raising=False)
    secret = get_settings().jwt_secret
    assert len(secret.encode()) >= MIN_JWT_SECRET_BYTES
    get_settings.cache_clear()
    assert get_settings().jwt_secret == secret  # kept in the data directory across restarts
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jwt.encode({"sub": "1"}, secret, algorithm="HS256")
    assert [str(w.message) for w in caught] == []


def test_the_server_command_prints_the_configuration_error_instead_of_a_traceback(
        fresh_settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from scripts.commands import main

    fresh_settings.setenv("JWT_SECRET", "changeme")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: JWT_SECRET must be at least") and "Traceback" not in err


def test_passwords_are_hashed_with_argon2_s_recommended_parameters_unless_told_otherwise(
        fresh_settings: pytest.MonkeyPatch) -> None:
    # given a deployment that says nothing about hashing (the suite itself runs CHEAPEST)
    fresh_settings.delenv("PASSWORD_HASH_PROFILE", raising=False)
    _hashing.cache_clear()
    try:
        # when a password is hashed
        hasher, dummy = _hashing()
        made = hasher.hash("correct-horse-1")
    finally:
        _hashing.cache_clear()
    # then it is argon2id with RFC 9106's low-memory parameters, as is the unknown-phone dummy
    assert made.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert dummy.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_an_unknown_password_hash_profile_is_refused_at_start_up(
        fresh_settings: pytest.MonkeyPatch) -> None:
    fresh_settings.setenv("PASSWORD_HASH_PROFILE", "FASTEST")
    with pytest.raises(ConfigurationError, match="PASSWORD_HASH_PROFILE must be one of"):
        get_settings()
