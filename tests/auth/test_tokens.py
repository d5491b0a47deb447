"""ID-token verification against a locally generated RSA key set: no network, no Microsoft."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.error
from dataclasses import FrozenInstanceError
from datetime import datetime, timezone

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt import PyJWKClient
from jwt.algorithms import RSAAlgorithm

from allocator import auth, config

CLIENT_ID = "11111111-2222-3333-4444-555555555555"
TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
OTHER_TENANT = "99999999-8888-7777-6666-555555555555"
THIRD_TENANT = "12121212-3434-5656-7878-909090909090"
KID = "test-key-1"
OID = "00000000-0000-0000-0000-0000000000a1"


def _rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


KEY = _rsa_key()
OTHER_KEY = _rsa_key()


def _jwks(*entries):
    keys = []
    for kid, private_key in entries:
        jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        jwk.update(kid=kid, use="sig")
        keys.append(jwk)
    return {"keys": keys}


class LocalJWKClient(PyJWKClient):
    """Serves a key set from memory, or fails the way an unreachable endpoint does."""

    def __init__(self, jwks=None, *, offline=False):
        super().__init__(auth.keys_url(TENANT), cache_keys=True)
        self.jwks = jwks if jwks is not None else _jwks((KID, KEY))
        self.offline = offline
        self.fetches = 0

    def fetch_data(self):
        self.fetches += 1
        if self.offline:
            raise jwt.PyJWKClientConnectionError('Fail to fetch data from the url, err: "offline"')
        return self.jwks


def claims(**overrides):
    now = int(time.time())
    payload = {
        "aud": CLIENT_ID,
        "iss": f"https://login.microsoftonline.com/{TENANT}/v2.0",
        "iat": now - 10,
        "nbf": now - 10,
        "exp": now + 3600,
        "tid": TENANT,
        "oid": OID,
        "sub": "pairwise-subject",
        "name": "Ada Lovelace",
        "preferred_username": "Ada.Lovelace@Example.AC.uk",
        "ver": "2.0",
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def sign(payload, *, key=KEY, kid=KID, algorithm="RS256"):
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(payload, header, sign_with=None):
    """Tokens PyJWT refuses to produce (alg none, HMAC keyed with a public key)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = b""
    if sign_with is not None:
        signature = hmac.new(sign_with, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def verify(token, *, jwk_client=None, tenant_id=TENANT, allowed=(TENANT,), **kwargs):
    return auth.verify_id_token(
        token,
        client_id=CLIENT_ID,
        tenant_id=tenant_id,
        allowed_tenants=allowed,
        jwk_client=jwk_client or LocalJWKClient(),
        **kwargs,
    )


def rejected(token, *, match, **kwargs) -> str:
    with pytest.raises(auth.TokenRejected) as info:
        verify(token, **kwargs)
    message = info.value.message
    assert match.lower() in message.lower(), message
    assert str(info.value) == message
    return message


# --- accepted ---------------------------------------------------------------------------------

def test_valid_token_admits_the_person_it_names():
    identity = verify(sign(claims()))
    assert identity.oid == OID
    assert identity.email == "ada.lovelace@example.ac.uk"
    assert identity.name == "Ada Lovelace"
    assert identity.tenant_id == TENANT
    assert identity.expires_at > datetime.now(timezone.utc)


def test_identity_is_immutable():
    identity = verify(sign(claims()))
    with pytest.raises(FrozenInstanceError):
        identity.email = "someone.else@example.ac.uk"  # type: ignore[misc]


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"preferred_username": None, "email": "Ada@Example.ac.uk"}, "ada@example.ac.uk"),
        ({"preferred_username": None, "upn": "ADA@example.ac.uk"}, "ada@example.ac.uk"),
        # A phone-number login is not an address; the next claim is used.
        ({"preferred_username": "+44 7700 900000", "email": "ada@example.ac.uk"}, "ada@example.ac.uk"),
    ],
)
def test_email_falls_back_to_email_then_upn(overrides, expected):
    assert verify(sign(claims(**overrides))).email == expected


def test_clock_skew_within_leeway_is_tolerated():
    now = int(time.time())
    verify(sign(claims(exp=now - 30, nbf=now + 30, iat=now + 30)))


def test_signing_keys_are_fetched_once_and_reused():
    client = LocalJWKClient()
    verify(sign(claims()), jwk_client=client)
    verify(sign(claims()), jwk_client=client)
    assert client.fetches == 1


def test_explicit_now_decides_expiry():
    token = sign(claims(iat=1_000, nbf=1_000, exp=5_000))
    assert verify(token, now=2_000).oid == OID
    rejected(token, match="expired", now=9_000)
    rejected(token, match="not valid yet", now=datetime.fromtimestamp(100, tz=timezone.utc))


# --- refused: signature and algorithm -----------------------------------------------------------

def test_forged_signature_with_same_kid_is_refused():
    rejected(sign(claims(), key=OTHER_KEY), match="signature is not valid")


def test_tampered_payload_is_refused():
    header, _, signature = sign(claims()).split(".")
    forged_payload = _b64(json.dumps(claims(oid="someone-else")).encode())
    rejected(f"{header}.{forged_payload}.{signature}", match="signature is not valid")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused(alg):
    token = hand_made(claims(), {"alg": alg, "typ": "JWT", "kid": KID})
    rejected(token, match="signing method that is not accepted")


def test_hs256_keyed_with_the_public_key_is_refused():
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = hand_made(claims(), {"alg": "HS256", "typ": "JWT", "kid": KID}, sign_with=public_pem)
    rejected(token, match="signing method that is not accepted")


def test_other_rsa_algorithms_are_refused():
    rejected(sign(claims(), algorithm="RS512"), match="signing method that is not accepted")


def test_unknown_kid_is_refused():
    rejected(sign(claims(), kid="not-published"), match="key Microsoft does not publish")


def test_missing_kid_is_refused():
    token = jwt.encode(claims(), KEY, algorithm="RS256")
    rejected(token, match="key Microsoft does not publish")


def test_key_fetch_network_error_is_refused():
    rejected(sign(claims()), match="cannot reach Microsoft", jwk_client=LocalJWKClient(offline=True))


def test_unreachable_microsoft_through_the_real_key_client(monkeypatch):
    """The production client (module cache, real URL) maps urllib failures to the same message."""

    class Offline:
        def open(self, *args, **kwargs):
            raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(auth, "_jwk_clients", {})
    monkeypatch.setattr("jwt.jwks_client.urllib.request.build_opener", lambda *h: Offline())
    with pytest.raises(auth.TokenRejected) as info:
        auth.verify_id_token(
            sign(claims()), client_id=CLIENT_ID, tenant_id=TENANT, allowed_tenants=[TENANT]
        )
    assert "cannot reach Microsoft" in info.value.message
    assert "name resolution" not in info.value.message


@pytest.mark.parametrize("token", ["", "   ", None, 42])
def test_absent_token_is_refused(token):
    rejected(token, match="No sign-in token")


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.%%%.sig"])
def test_malformed_token_is_refused(token):
    rejected(token, match="malformed")


# --- refused: claims ------------------------------------------------------------------------------

def test_wrong_audience_is_refused():
    rejected(sign(claims(aud="another-app")), match="different application")


def test_audience_list_is_refused():
    rejected(sign(claims(aud=[CLIENT_ID, "another-app"])), match="different application")


@pytest.mark.parametrize(
    "issuer",
    [
        f"https://sts.windows.net/{TENANT}/",  # v1 issuer
        f"https://login.microsoftonline.com/{TENANT}/v2.0/",
        f"https://evil.example/{TENANT}/v2.0",
        "https://login.microsoftonline.com/common/v2.0",
    ],
)
def test_wrong_issuer_is_refused(issuer):
    rejected(sign(claims(iss=issuer)), match="not issued by your organisation")


def test_issuer_of_another_tenant_is_refused():
    token = sign(claims(iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"))
    rejected(token, match="not issued by your organisation")


def test_token_from_another_tenant_is_refused():
    token = sign(
        claims(iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0", tid=OTHER_TENANT)
    )
    rejected(token, match="another organisation")


def test_foreign_tid_is_refused():
    rejected(sign(claims(tid=OTHER_TENANT)), match="another organisation")


def test_tid_allowed_but_not_the_configured_tenant_is_refused():
    token = sign(claims(tid=OTHER_TENANT))
    rejected(token, match="another organisation", allowed=(TENANT, OTHER_TENANT))


def test_expired_token_is_refused():
    now = int(time.time())
    rejected(sign(claims(iat=now - 7200, nbf=now - 7200, exp=now - 3600)), match="expired")


def test_token_not_yet_valid_is_refused():
    rejected(sign(claims(nbf=int(time.time()) + 3600)), match="not valid yet")


def test_token_issued_in_the_future_is_refused():
    rejected(sign(claims(iat=int(time.time()) + 3600)), match="not valid yet")


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat", "aud", "iss", "tid", "oid"])
def test_missing_required_claim_is_refused(claim):
    message = rejected(sign(claims(**{claim: None})), match="missing")
    assert f"'{claim}'" in message


def test_missing_email_is_refused():
    rejected(sign(claims(preferred_username=None)), match="no email address")


def test_non_address_username_without_email_is_refused():
    rejected(sign(claims(preferred_username="ada")), match="no email address")


def test_messages_do_not_leak_internals():
    message = rejected(sign(claims(), kid="secret-kid-value"), match="key")
    assert "secret-kid-value" not in message
    message = rejected(sign(claims(aud="another-app")), match="application")
    assert "another-app" not in message and "Audience" not in message


def test_rejections_are_logged_for_the_operator(caplog):
    with caplog.at_level(logging.INFO, logger="allocator.auth"):
        rejected(sign(claims(aud="another-app")), match="different application")
    assert "another-app" in caplog.text


# --- configuration ------------------------------------------------------------------------------

@pytest.mark.parametrize("tenant_id", ["", "contoso.onmicrosoft.com", "../evil"])
def test_misconfigured_tenant_is_refused(tenant_id):
    rejected(sign(claims()), match="misconfigured", tenant_id=tenant_id)


def test_uppercase_configured_tenant_still_matches():
    assert verify(sign(claims()), tenant_id=TENANT.upper(), allowed=(TENANT.upper(),)).oid == OID


def test_multi_tenant_authority_pins_issuer_to_an_allowed_tenant():
    allowed = (TENANT, OTHER_TENANT)
    other_iss = f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"
    identity = verify(
        sign(claims(iss=other_iss, tid=OTHER_TENANT)), tenant_id="organizations", allowed=allowed
    )
    assert identity.tenant_id == OTHER_TENANT

    third_iss = f"https://login.microsoftonline.com/{THIRD_TENANT}/v2.0"
    rejected(
        sign(claims(iss=third_iss, tid=THIRD_TENANT)),
        match="another organisation",
        tenant_id="organizations",
        allowed=allowed,
    )
    # A token naming an allowed tenant but issued by another one.
    rejected(
        sign(claims(iss=other_iss, tid=TENANT)),
        match="not issued by your organisation",
        tenant_id="organizations",
        allowed=allowed,
    )


def test_key_clients_are_cached_per_tenant_without_fetching(monkeypatch):
    monkeypatch.setattr(auth, "_jwk_clients", {})

    def no_network(*args, **kwargs):
        raise AssertionError("keys fetched while creating the client")

    monkeypatch.setattr("jwt.jwks_client.urllib.request.build_opener", no_network)
    first = auth.jwk_client_for(TENANT)
    assert auth.jwk_client_for(TENANT.upper()) is first
    assert auth.jwk_client_for(OTHER_TENANT) is not first
    assert first.uri == f"https://login.microsoftonline.com/{TENANT}/discovery/v2.0/keys"


# --- local mode -----------------------------------------------------------------------------------

@pytest.fixture
def env(monkeypatch, tmp_path):
    """config.load() reading only what each test sets, never the developer's secrets.toml."""
    monkeypatch.setenv("ALLOCATOR_SECRETS", str(tmp_path / "absent.toml"))
    for name in ("MS_CLIENT_ID", "MS_TENANT_ID", "MS_ALLOWED_TENANTS", "LOCAL_MODE", "ADMIN_EMAILS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_local_mode_allowed_without_microsoft_settings(env):
    allowed, message = auth.local_mode_allowed(config.load())
    assert allowed
    assert "local" in message.lower()


def test_local_mode_requested_without_microsoft_settings_is_allowed(env):
    env.setenv("LOCAL_MODE", "1")
    assert auth.local_mode_allowed(config.load())[0]


@pytest.mark.parametrize(
    "name, value",
    [("MS_CLIENT_ID", CLIENT_ID), ("MS_TENANT_ID", TENANT), ("MS_ALLOWED_TENANTS", TENANT)],
)
def test_local_mode_refused_when_microsoft_is_configured(env, caplog, name, value):
    env.setattr(auth, "_warned", set())  # a fresh process: the warning has not been given yet
    env.setenv(name, value)
    env.setenv("LOCAL_MODE", "true")
    with caplog.at_level(logging.WARNING, logger="allocator.auth"):
        allowed, message = auth.local_mode_allowed(config.load())
    assert not allowed
    assert message == "Local sign-in is disabled because Microsoft sign-in is configured."
    assert any(r.levelno == logging.WARNING and "LOCAL_MODE" in r.getMessage() for r in caplog.records)


def test_local_mode_warning_is_given_once_per_process_not_per_run(env, caplog):
    env.setattr(auth, "_warned", set())
    env.setenv("MS_CLIENT_ID", CLIENT_ID)
    env.setenv("LOCAL_MODE", "1")
    with caplog.at_level(logging.WARNING, logger="allocator.auth"):
        for _ in range(5):  # five script runs
            assert not auth.local_mode_allowed(config.load())[0]
    assert sum("LOCAL_MODE" in r.getMessage() for r in caplog.records) == 1


def test_rejected_sign_in_is_logged_as_a_warning_without_the_token(caplog):
    token = sign(claims(aud="someone-else"))
    with caplog.at_level(logging.WARNING, logger="allocator.auth"):
        rejected(token, match="different application")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and all(token not in w and token.split(".")[2] not in w for w in warnings)


def test_local_mode_off_quietly_when_not_requested(env, caplog):
    env.setenv("MS_CLIENT_ID", CLIENT_ID)
    env.setenv("MS_TENANT_ID", TENANT)
    with caplog.at_level(logging.WARNING, logger="allocator.auth"):
        allowed, _ = auth.local_mode_allowed(config.load())
    assert not allowed
    assert not caplog.records


def test_local_mode_refused_from_secrets_toml(env, tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'LOCAL_MODE = "1"\n[allocator]\nms_client_id = "{CLIENT_ID}"\n')
    env.setenv("ALLOCATOR_SECRETS", str(secrets))
    assert auth.local_mode_allowed(config.load()) == (
        False,
        "Local sign-in is disabled because Microsoft sign-in is configured.",
    )
