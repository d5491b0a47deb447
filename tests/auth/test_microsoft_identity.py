"""microsoft_identity with the browser component replaced: what reaches Python is re-verified."""
from __future__ import annotations

import time

import pytest
import streamlit_msal
from streamlit.testing.v1 import AppTest

from allocator import auth
from .test_tokens import CLIENT_ID, TENANT, LocalJWKClient, claims, sign


def _script():
    import streamlit as st

    from allocator import auth, config

    identity = auth.microsoft_identity(config.load())
    st.markdown(f"identity: {identity.email if identity else 'none'}")


@pytest.fixture
def component(monkeypatch, tmp_path):
    """Stands in for the browser: whatever value the test puts here is what the component returns."""
    monkeypatch.setenv("ALLOCATOR_SECRETS", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("MS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("MS_TENANT_ID", TENANT)
    monkeypatch.delenv("MS_ALLOWED_TENANTS", raising=False)
    monkeypatch.setattr(auth, "_jwk_clients", {TENANT: LocalJWKClient()})
    state = {"value": None, "calls": []}

    def initialize(client_id, authority, scopes=(), key=None):
        state["calls"].append({"client_id": client_id, "authority": authority, "scopes": scopes})
        return state["value"]

    monkeypatch.setattr(streamlit_msal.Msal, "initialize", staticmethod(initialize))
    return state


def _run():
    at = AppTest.from_function(_script)
    at.run(timeout=10)
    assert not at.exception
    return at


def test_verified_token_yields_identity(component):
    component["value"] = {"idToken": sign(claims()), "account": {"name": "whatever"}}
    at = _run()
    assert at.markdown[-1].value == "identity: ada.lovelace@example.ac.uk"
    assert not at.error
    assert component["calls"] == [
        {
            "client_id": CLIENT_ID,
            "authority": f"https://login.microsoftonline.com/{TENANT}",
            "scopes": ["openid", "profile", "email"],
        }
    ]


def test_expired_token_replayed_by_the_browser_ends_the_session(component):
    now = int(time.time())
    component["value"] = {"idToken": sign(claims(iat=now - 7200, nbf=now - 7200, exp=now - 3600))}
    at = _run()
    assert at.markdown[-1].value == "identity: none"
    assert "expired" in at.error[0].value
    assert {b.label for b in at.button} >= {"Sign in again", "Sign out"}


def test_forged_account_without_token_is_refused(component):
    component["value"] = {"account": {"username": "coordinator@example.ac.uk"}}
    at = _run()
    assert at.markdown[-1].value == "identity: none"
    assert "No sign-in token" in at.error[0].value


def test_signed_out_shows_sign_in(component):
    at = _run()
    assert at.markdown[-1].value == "identity: none"
    assert [b.label for b in at.button] == ["Sign in with Microsoft"]


def test_a_verified_sign_in_survives_a_page_switch_where_the_component_reports_nothing(component):
    # Streamlit gives the component another widget id on each page, so right after st.switch_page (a
    # reload or a link to a page) it reports nothing; the tab's verified token carries the run (issue 12).
    component["value"] = {"idToken": sign(claims())}
    at = _run()
    component["value"] = None
    at.run(timeout=10)
    assert at.markdown[-1].value == "identity: ada.lovelace@example.ac.uk"
    assert len(component["calls"]) == 1  # not asked again while the tab's token verifies


def test_the_tab_token_is_verified_again_on_every_run(component):
    now = int(time.time())
    at = AppTest.from_function(_script)
    at.session_state[auth.SESSION_TOKEN_KEY] = sign(claims(iat=now - 7200, nbf=now - 7200, exp=now - 3600))
    at.run(timeout=10)
    assert at.markdown[-1].value == "identity: none"  # expired: dropped, and the component asked instead
    assert auth.SESSION_TOKEN_KEY not in at.session_state
    assert len(component["calls"]) == 1


def test_signing_out_forgets_the_tab_token(component):
    component["value"] = {"idToken": sign(claims())}
    at = _run()
    component["value"] = None
    at.sidebar.button(key="auth.sign_out").click().run(timeout=10)
    assert at.markdown[-1].value == "identity: none"
    assert auth.SESSION_TOKEN_KEY not in at.session_state
