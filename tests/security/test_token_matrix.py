"""A matrix of forged, misaddressed, expired and look-alike Microsoft ID tokens (issue 12).

Each token goes the whole way a real one goes: `verify_id_token`, then `resolve_actor` against a database
that holds the people it could be mistaken for. Each is either refused or mapped to exactly the right
person; none maps to anyone else.
"""
from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select

from allocator import auth, services
from allocator.models import AuditEvent, User
from tests import factories as f
from tests.auth.test_tokens import (CLIENT_ID, KEY, KID, OID, OTHER_KEY, OTHER_TENANT, TENANT, LocalJWKClient,
                                    claims, hand_made, sign)

ADA = "ada.lovelace@example.ac.uk"  # the person the default claims name; her account is bound to OID
KATE = "kate.admin@example.ac.uk"  # a coordinator: the target of look-alike addresses
KATE_OID = "00000000-0000-0000-0000-0000000000b2"
NEW_OID = "00000000-0000-0000-0000-0000000000c3"
NOW = int(time.time())


@dataclass(frozen=True)
class Case:
    name: str
    token: Callable[[], object]
    person: str | None  # the email it must map to, or None: refused


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _tampered_payload(**changes) -> str:
    header, payload, signature = sign(claims()).split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(changes)
    return ".".join((header, _b64(json.dumps(body).encode()), signature))


def _tampered_header(**changes) -> str:
    header, payload, signature = sign(claims()).split(".")
    head = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    head.update(changes)
    return ".".join((_b64(json.dumps(head).encode()), payload, signature))


def _public_pem() -> bytes:
    return KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _as(address: str, **more) -> Callable[[], str]:
    return lambda: sign(claims(preferred_username=address, **more))


ISS = f"https://login.microsoftonline.com/{TENANT}/v2.0"
CASES = [
    # --- forged -----------------------------------------------------------------------------------
    Case("alg none", lambda: hand_made(claims(), {"alg": "none", "kid": KID}), None),
    Case("alg None capitalised", lambda: hand_made(claims(), {"alg": "None", "kid": KID}), None),
    Case("HS256 keyed with the public key", lambda: hand_made(claims(), {"alg": "HS256", "kid": KID}, _public_pem()),
         None),
    Case("HS256 keyed with the client id", lambda: hand_made(claims(), {"alg": "HS256", "kid": KID},
                                                             CLIENT_ID.encode()), None),
    Case("RS384", lambda: sign(claims(), algorithm="RS384"), None),
    Case("RS512", lambda: sign(claims(), algorithm="RS512"), None),
    Case("PS256", lambda: sign(claims(), algorithm="PS256"), None),
    Case("another key under Microsoft's kid", lambda: sign(claims(), key=OTHER_KEY), None),
    Case("a kid Microsoft does not publish", lambda: sign(claims(), kid="attacker-key"), None),
    Case("no kid", lambda: hand_made(claims(), {"alg": "RS256"}), None),
    Case("kid not a string", lambda: _tampered_header(kid=7), None),
    Case("jku to the attacker's keys", lambda: _tampered_header(jku="https://evil.example/keys"), None),
    Case("embedded jwk of the attacker",
         lambda: jwt_with_embedded_key(), None),
    Case("payload edited after signing: email", lambda: _tampered_payload(preferred_username=KATE), None),
    Case("payload edited after signing: oid", lambda: _tampered_payload(oid=KATE_OID), None),
    Case("header edited after signing: alg", lambda: _tampered_header(alg="RS256", typ="JWT", cty="x"), None),
    Case("signature cut short", lambda: sign(claims())[:-10], None),
    Case("signature removed", lambda: sign(claims()).rsplit(".", 1)[0] + ".", None),
    Case("two segments", lambda: ".".join(sign(claims()).split(".")[:2]), None),
    Case("four segments", lambda: sign(claims()) + ".extra", None),
    Case("not a token", lambda: "hello", None),
    Case("empty", lambda: "", None),
    Case("whitespace", lambda: "   ", None),
    Case("None", lambda: None, None),
    Case("a number", lambda: 12345, None),
    # --- misaddressed -----------------------------------------------------------------------------
    Case("another application", lambda: sign(claims(aud="00000000-1111-2222-3333-444444444444")), None),
    Case("audience list holding ours", lambda: sign(claims(aud=[CLIENT_ID, "other"])), None),
    Case("audience with a suffix", lambda: sign(claims(aud=CLIENT_ID + "0")), None),
    Case("issuer of another tenant", lambda: sign(claims(iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0")),
         None),
    Case("v1 issuer", lambda: sign(claims(iss=f"https://sts.windows.net/{TENANT}/")), None),
    Case("issuer with a trailing slash", lambda: sign(claims(iss=ISS + "/")), None),
    Case("look-alike issuer host", lambda: sign(claims(iss=f"https://login.microsoftonline.com.evil.example/{TENANT}/v2.0")),
         None),
    Case("another tenant throughout", lambda: sign(claims(tid=OTHER_TENANT,
                                                          iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0")),
         None),
    Case("tid of another tenant", lambda: sign(claims(tid=OTHER_TENANT)), None),
    Case("no tid", lambda: sign(claims(tid=None)), None),
    Case("no oid", lambda: sign(claims(oid=None)), None),
    Case("empty oid", lambda: sign(claims(oid="  ")), None),
    Case("no aud", lambda: sign(claims(aud=None)), None),
    Case("no iss", lambda: sign(claims(iss=None)), None),
    # --- expired and not yet valid ----------------------------------------------------------------
    Case("expired an hour ago", lambda: sign(claims(iat=NOW - 7200, nbf=NOW - 7200, exp=NOW - 3600)), None),
    Case("expired two minutes ago", lambda: sign(claims(exp=int(time.time()) - 120)), None),
    Case("expired 30 s ago (inside the clock leeway)", lambda: sign(claims(exp=int(time.time()) - 30)), ADA),
    Case("not valid for an hour", lambda: sign(claims(nbf=NOW + 3600)), None),
    Case("issued in the future", lambda: sign(claims(iat=NOW + 3600)), None),
    Case("no exp", lambda: sign(claims(exp=None)), None),
    Case("no nbf", lambda: sign(claims(nbf=None)), None),
    Case("no iat", lambda: sign(claims(iat=None)), None),
    Case("exp not a number", lambda: sign(claims(exp="tomorrow")), None),
    # --- look-alike and odd addresses -------------------------------------------------------------
    Case("KELVIN SIGN for K", _as("\u212aate.admin@example.ac.uk", oid=NEW_OID), None),
    Case("Cyrillic a", _as("k\u0430te.admin@example.ac.uk", oid=NEW_OID), None),
    Case("Turkish dotted I", _as("kate.\u0130dmin@example.ac.uk", oid=NEW_OID), None),
    Case("ligature ff", _as("kate.admin@exa\ufb00ample.ac.uk", oid=NEW_OID), None),
    Case("zero-width space", _as("kate.admin\u200b@example.ac.uk", oid=NEW_OID), None),
    Case("fullwidth at sign", _as("kate.admin\uff20example.ac.uk", oid=NEW_OID), None),
    Case("non-ASCII username before an ASCII email claim",
         _as("\u212aate.admin@example.ac.uk", oid=NEW_OID, email=KATE), None),
    Case("Kate's email under another oid", _as(KATE, oid=NEW_OID), None),
    Case("Kate's email in capitals under another oid", _as(KATE.upper(), oid=NEW_OID), None),
    Case("Ada's email under Ada's oid from another tenant's issuer",
         lambda: sign(claims(iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0", tid=OTHER_TENANT)), None),
    Case("no address at all", lambda: sign(claims(preferred_username="+44 7700 900000")), None),
    # --- mapped to the right person ---------------------------------------------------------------
    Case("a valid token", lambda: sign(claims()), ADA),
    Case("Ada's email in capitals", _as("ADA.LOVELACE@EXAMPLE.AC.UK"), ADA),
    Case("Ada's email with spaces around it", _as("  ada.lovelace@example.ac.uk "), ADA),
    Case("Ada's oid with a new email (her address changed)", _as("ada.king@example.ac.uk"), ADA),
    Case("address only in the email claim", lambda: sign(claims(preferred_username="ada", email=ADA)), ADA),
    Case("address only in upn", lambda: sign(claims(preferred_username=None, upn=ADA)), ADA),
    Case("Kate with her own oid", _as(KATE, oid=KATE_OID), KATE),
]


def jwt_with_embedded_key() -> str:
    """A token carrying the attacker's own public key in its header, signed with that key."""
    import jwt

    jwk = RSAAlgorithm.to_jwk(OTHER_KEY.public_key(), as_dict=True)
    return jwt.encode(claims(), OTHER_KEY, algorithm="RS256", headers={"kid": KID, "jwk": jwk})


def test_the_matrix_is_large_enough():
    assert len(CASES) >= 50
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.fixture
def people(session):
    f.user(session, email=ADA, name="Ada Lovelace", oid=OID, tid=TENANT)
    f.admin(session, email=KATE, name="Kate Admin", oid=KATE_OID, tid=TENANT)
    f.user(session, email="ada.king@example.ac.uk", name="Another Ada")  # not bound to anyone yet
    return session


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_token_is_refused_or_maps_to_the_right_person(people, case):
    session = people
    try:
        identity = auth.verify_id_token(case.token(), client_id=CLIENT_ID, tenant_id=TENANT,
                                        allowed_tenants=(TENANT,), jwk_client=LocalJWKClient())
    except auth.TokenRejected as exc:
        assert case.person is None, f"refused ({exc.message}) but should map to {case.person}"
        return
    actor = services.resolve_actor(session, email=identity.email, name=identity.name, oid=identity.oid,
                                   tid=identity.tenant_id, admin_emails=())
    mapped = actor.email if actor is not None else None
    assert mapped == case.person, f"mapped to {mapped}, expected {case.person or 'a refusal'}"


# --- binding an account to its first Microsoft identity -------------------------------------------------

def _refusals(session):
    return session.scalars(select(AuditEvent).where(AuditEvent.action == services.AUDIT_SIGN_IN_REFUSED)).all()


def test_an_account_is_bound_to_the_first_oid_and_tid_that_sign_in(session):
    f.user(session, email="new@example.ac.uk", name="New Person")
    first = services.resolve_actor(session, email="new@example.ac.uk", oid=NEW_OID, tid=TENANT)
    assert first is not None
    row = session.scalar(select(User).where(User.email == "new@example.ac.uk"))
    assert (row.oid, row.tid) == (NEW_OID, TENANT)
    assert services.resolve_actor(session, email="new@example.ac.uk", oid=NEW_OID, tid=TENANT) == first


@pytest.mark.parametrize("oid, tid", [("00000000-0000-0000-0000-0000000000ff", TENANT), (OID, OTHER_TENANT)])
def test_a_mismatched_oid_or_tid_is_refused_and_audited(people, oid, tid):
    assert services.resolve_actor(people, email=ADA, oid=oid, tid=tid) is None
    (event,) = _refusals(people)
    assert event.actor_email == ADA
    assert event.detail["oid"] == oid and event.detail["tid"] == tid


def test_a_configured_admin_email_under_another_oid_is_refused(people):
    assert services.resolve_actor(people, email=KATE, oid=NEW_OID, tid=TENANT, admin_emails=(KATE,)) is None
    assert len(_refusals(people)) == 1


@pytest.mark.parametrize("email", ["\u212aate.admin@example.ac.uk", "KATE.ADM\u0130N@example.ac.uk"])
def test_resolve_actor_refuses_non_ascii_addresses_itself(people, email):
    # Defence in depth: whatever verified the identity, a look-alike never reaches lower() and a lookup.
    assert services.resolve_actor(people, email=email, admin_emails=(KATE,)) is None
