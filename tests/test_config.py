"""Settings are parsed once per process: every script run of every session reuses them, until their
sources change (a test's environment, an edited secrets file)."""
from __future__ import annotations

import os

import pytest

from allocator import config


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("ALLOCATOR_SECRETS", str(tmp_path / "secrets.toml"))
    monkeypatch.setenv("SMTP_HOST", "mail.one")
    (tmp_path / "secrets.toml").write_text('SMTP_FROM = "app@uni.example"\n')
    config.load.cache_clear()
    return monkeypatch


@pytest.fixture
def parses(env):
    """The secrets files parsed since the fixture started."""
    seen = []
    real_parse = config._parse
    env.setattr(config, "_parse", lambda path: seen.append(path) or real_parse(path))
    return seen


def test_settings_are_parsed_once_for_every_run(parses):
    first = config.load()
    assert all(config.load() is first for _ in range(20))
    assert first.smtp_host == "mail.one" and first.smtp_from == "app@uni.example"
    assert len(parses) == 1  # not once per setting either


def test_a_changed_environment_or_file_is_read_again(env, parses, tmp_path):
    assert config.load().smtp_host == "mail.one"
    env.setenv("SMTP_HOST", "mail.two")
    assert config.load().smtp_host == "mail.two"
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('SMTP_FROM = "allocation-office@uni.example"\n')
    os.utime(secrets, ns=(1, 1))  # a new stamp even on a file system with coarse times
    assert config.load().smtp_from == "allocation-office@uni.example"
    assert len(parses) == 3


def test_an_unreadable_file_is_not_remembered_as_settings(env, tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_bytes(b'SMTP_FROM = "unclosed\n')
    for _ in range(2):  # every run says what is wrong, none runs on half-read settings
        with pytest.raises(config.SettingsError, match="not valid TOML"):
            config.load()
    secrets.write_text('SMTP_FROM = "app@uni.example"\n')
    assert config.load().smtp_from == "app@uni.example"
