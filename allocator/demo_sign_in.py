"""Local (demo) mode: a tab's sign-in survives reloading the page, until the tab is closed or signs out.

A reload opens a new Streamlit session, whose state starts empty. What carries the sign-in over is a
random token the server issued to the signed-in session: the tab keeps it in its `sessionStorage` (one
per tab, so two tabs can be two demo people, as the load and security tests use them, and it goes when
the tab is closed), and the new session's sign-in screen asks the tab for it through a small component.

The browser never names who it is: the server looks the token up in its own table (in this process's
memory, so a restart forgets every token and people sign in again) and gets the user id and email it
signed in; an unknown, expired or revoked token is ignored and the sign-in screen stays. Signing out
revokes the token. Whoever it names is resolved from the database again on every run, like any local
sign-in, so a person made inactive or no longer an admin does not keep their rights through it.

Microsoft sign-in never uses any of this (`ui._identity` returns before local sign-in).
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

IDLE_SECONDS = 8 * 3600  # a tab left alone this long signs in afresh
LIFETIME_SECONDS = 24 * 3600  # and any token ends a day after its sign-in, however busy the tab
MAX_TOKENS = 10_000  # the oldest are dropped beyond this: memory stays bounded whatever a client sends
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # what `secrets.token_urlsafe(32)` makes

TOKEN_KEY = "_demo_sign_in_token"
_ASKED_KEY = "_demo_sign_in_asked"  # this session has already asked its tab for a token
_NONCE_KEY = "_demo_sign_in_nonce"
_FORGET_KEY = "_demo_sign_in_forget"
STORAGE_KEY = "allocator.demo-sign-in"


@dataclass(frozen=True)
class Remembered:
    user_id: int
    email: str


@dataclass
class _Entry:
    who: Remembered
    issued: float
    seen: float


class TokenTable:
    """Tokens this server issued, by their SHA-256 (the table never holds a usable token)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, *, user_id: int, email: str) -> str:
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._entries[_digest(token)] = _Entry(Remembered(user_id, email), now, now)
            while len(self._entries) > MAX_TOKENS:
                self._entries.popitem(last=False)
        return token

    def resume(self, token: object) -> Remembered | None:
        """Who `token` signed in, if this server issued it and it is neither expired nor revoked; using it
        keeps it alive (the idle limit counts from its last use)."""
        if not isinstance(token, str) or not _TOKEN_SHAPE.match(token):
            return None
        key, now = _digest(token), self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if now - entry.seen > IDLE_SECONDS or now - entry.issued > LIFETIME_SECONDS:
                del self._entries[key]
                return None
            entry.seen = now
            return entry.who

    def revoke(self, token: object) -> None:
        if isinstance(token, str):
            with self._lock:
                self._entries.pop(_digest(token), None)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


TOKENS = TokenTable()

# Runs in the page (not an iframe): reads this tab's token once per Streamlit session (`ask` is new for each
# session) and hands it over as a trigger value, so the session's next run can check it.
_ASK_TAB_JS = """
export default function ({ data, setTriggerValue }) {
  if (!data || window.__allocatorDemoAsked === data.ask) return;
  window.__allocatorDemoAsked = data.ask;
  let token = null;
  try { token = window.sessionStorage.getItem(data.key); } catch (err) { return; }
  if (token) setTriggerValue("token", token);
}
"""
_ask_tab = st.components.v2.component("allocator.demo_sign_in", js=_ASK_TAB_JS)


def _in_tab(script: str) -> None:
    st.html(f"<script>{script}</script>", unsafe_allow_javascript=True, width="content")


def offer_resume() -> str | None:
    """On the sign-in screen: ask the tab for its token (drawn last, height 0). Returns the email of a valid
    token handed over by this run, or None (nothing yet, or a token this server does not honour)."""
    if st.session_state.pop(_FORGET_KEY, False):
        _in_tab(f"window.sessionStorage.removeItem({json.dumps(STORAGE_KEY)});")
    if st.session_state.get(_ASKED_KEY):
        return None
    nonce = st.session_state.setdefault(_NONCE_KEY, secrets.token_hex(8))
    result = _ask_tab(key="demo-sign-in-resume", data={"key": STORAGE_KEY, "ask": nonce},
                      on_token_change=lambda: None, height=0)
    token = result.token
    if token is None:
        return None
    st.session_state[_ASKED_KEY] = True  # asked and answered: never again in this session
    who = TOKENS.resume(token)
    if who is None:
        return None
    st.session_state[TOKEN_KEY] = token
    return who.email


def bind(user_id: int, email: str) -> bool:
    """After the actor was resolved from the database: give a new sign-in its token, or check that a
    resumed one still names the same user (an email re-used by another account does not inherit it).
    False means this session must sign in afresh."""
    token = st.session_state.get(TOKEN_KEY)
    if token is None:
        st.session_state[TOKEN_KEY] = TOKENS.issue(user_id=user_id, email=email)
        return True
    who = TOKENS.resume(token)
    if who is not None and who.user_id == user_id:
        return True
    forget()
    return False


def keep_in_tab() -> None:
    """On every signed-in run: (re)state the token in the tab's storage. Idempotent, so a run cut short
    by a rerun or a page switch before it reached the browser costs nothing."""
    token = st.session_state.get(TOKEN_KEY)
    if token:
        _in_tab(f"window.sessionStorage.setItem({json.dumps(STORAGE_KEY)}, {json.dumps(token)});")


def forget() -> None:
    """Sign-out (or a refused sign-in): revoke the token; the sign-in screen also clears the tab's copy."""
    TOKENS.revoke(st.session_state.pop(TOKEN_KEY, None))
    st.session_state[_FORGET_KEY] = True
    st.session_state[_ASKED_KEY] = True
