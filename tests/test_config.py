"""Settings are parsed once per process: every script run of every session reuses them."""
from __future__ import annotations

import pytest

from allocator import config


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("ALLOCATOR_SECRETS", str(tmp_path / "secrets.toml"))
    monkeypatch.setenv("SMTP_HOST", "mail.one")
    return monkeypatch


def test_settings_are_read_once_per_process(env, tmp_path):
    reads = []
    real_parse = config._parse
    env.setattr(config, "_parse", lambda path: reads.append(path) or real_parse(path))
    (tmp_path / "secrets.toml").write_text('SMTP_FROM = "app@uni.example"\n')
    first = config.load()
    env.setenv("SMTP_HOST", "mail.two")  # a running server's environment does not change: ignored
    assert config.load() is first and config.load().smtp_host == "mail.one"
    assert len(reads) == len(set(reads)) == 1


def test_clearing_the_cache_reads_the_settings_again(env):
    assert config.load().smtp_host == "mail.one"
    env.setenv("SMTP_HOST", "mail.two")
    config.load.cache_clear()
    assert config.load().smtp_host == "mail.two"


def test_an_unreadable_file_is_not_remembered_as_settings(env, tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_bytes(b'SMTP_FROM = "unclosed\n')
    for _ in range(2):  # every run says what is wrong, none runs on half-read settings
        with pytest.raises(config.SettingsError, match="not valid TOML"):
            config.load()
    secrets.write_text('SMTP_FROM = "app@uni.example"\n')
    assert config.load().smtp_from == "app@uni.example"
