"""The local-mode token table: only a token this server issued, unexpired and not revoked, names anyone."""
from __future__ import annotations

import secrets

import pytest

from allocator import demo_sign_in
from allocator.demo_sign_in import IDLE_SECONDS, LIFETIME_SECONDS, Remembered, TokenTable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def table(clock) -> TokenTable:
    return TokenTable(clock)


def test_an_issued_token_names_who_signed_in(table):
    ada = table.issue(user_id=7, email="ada@uni.example")
    bob = table.issue(user_id=8, email="bob@uni.example")
    assert ada != bob
    assert table.resume(ada) == Remembered(7, "ada@uni.example")
    assert table.resume(bob) == Remembered(8, "bob@uni.example")


@pytest.mark.parametrize("forged", ["", "x" * 5000, None, 42, ["a"], "../../etc/passwd",
                                    '"><script>alert(1)</script>', "A" * 43])
def test_a_token_it_did_not_issue_names_nobody(table, forged):
    table.issue(user_id=7, email="ada@uni.example")
    assert table.resume(forged) is None
    assert table.resume(secrets.token_urlsafe(32)) is None  # well formed, but not issued here


def test_a_token_changed_by_one_character_names_nobody(table):
    token = table.issue(user_id=7, email="ada@uni.example")
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert table.resume(altered) is None
    assert table.resume(token) is not None


def test_the_table_keeps_no_usable_token(table):
    token = table.issue(user_id=7, email="ada@uni.example")
    assert token not in repr(vars(table))


def test_a_revoked_token_names_nobody_and_others_stay(table):
    ada = table.issue(user_id=7, email="ada@uni.example")
    bob = table.issue(user_id=8, email="bob@uni.example")
    table.revoke(ada)
    table.revoke(ada)  # twice, or an unknown one: nothing to do
    table.revoke("never issued")
    assert table.resume(ada) is None
    assert table.resume(bob) == Remembered(8, "bob@uni.example")


def test_a_token_left_idle_expires_and_one_in_use_lives_on(table, clock):
    idle = table.issue(user_id=7, email="ada@uni.example")
    busy = table.issue(user_id=8, email="bob@uni.example")
    for _ in range(3):
        clock.now += IDLE_SECONDS * 0.6
        assert table.resume(busy) is not None
    assert table.resume(idle) is None
    assert table.resume(idle) is None  # and stays gone


def test_even_a_token_in_use_ends_at_its_lifetime(table, clock):
    token = table.issue(user_id=7, email="ada@uni.example")
    while clock.now + IDLE_SECONDS / 2 < 1000.0 + LIFETIME_SECONDS:
        clock.now += IDLE_SECONDS / 2
        assert table.resume(token) is not None
    clock.now = 1000.0 + LIFETIME_SECONDS + 1
    assert table.resume(token) is None


def test_the_table_stays_bounded_dropping_the_oldest(table, monkeypatch):
    monkeypatch.setattr(demo_sign_in, "MAX_TOKENS", 3)
    tokens = [table.issue(user_id=i, email=f"s{i}@uni.example") for i in range(5)]
    assert [table.resume(t) is not None for t in tokens] == [False, False, True, True, True]
