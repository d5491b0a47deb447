"""Who is signed in: Microsoft ID tokens verified on the server, and the local-mode switch.

The streamlit-msal component hands Python whatever the browser holds (its result lives in
localStorage and is replayed without asking Microsoft again), so nothing in it is trusted: the
identity is the `oid`/email of an ID token whose signature, audience, issuer, tenant and lifetime
this module has checked, on every script run.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import jwt
from jwt import PyJWKClient

if TYPE_CHECKING:
    from allocator.config import Settings

log = logging.getLogger(__name__)

LOGIN_HOST = "https://login.microsoftonline.com"
# MSAL.js adds openid/profile/offline_access itself; `email` asks for the email claim as a fallback
# for accounts whose preferred_username is not an address.
SCOPES = ("openid", "profile", "email")
REQUIRED_CLAIMS = ["exp", "nbf", "iat", "aud", "iss", "tid", "oid"]
# Only Microsoft's algorithm: allowing anything the token names opens `none` and HS256-with-the-
# public-key (algorithm confusion).
ALGORITHMS = ["RS256"]
# Authorities that sign people in from many tenants; the issuer then names the person's own tenant,
# so it is pinned per token to a tenant from the allowed list rather than to the configured value.
MULTI_TENANT_AUTHORITIES = frozenset({"common", "organizations", "consumers"})
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
JWKS_TIMEOUT_SECONDS = 10

MSG_NO_TOKEN = "No sign-in token was received; please sign in again."
MSG_MALFORMED = "The sign-in token is malformed; please sign in again."
MSG_ALGORITHM = "The sign-in token uses a signing method that is not accepted."
MSG_SIGNATURE = "The sign-in token's signature is not valid."
MSG_UNKNOWN_KEY = "The sign-in token was signed with a key Microsoft does not publish."
MSG_UNREACHABLE = (
    "The app cannot reach Microsoft to check sign-in right now; please try again in a minute."
)
MSG_EXPIRED = "Your sign-in has expired; please sign in again."
MSG_NOT_YET_VALID = (
    "Your sign-in is not valid yet; check your computer's clock and sign in again."
)
MSG_AUDIENCE = "This sign-in was issued for a different application."
MSG_ISSUER = "This sign-in was not issued by your organisation's Microsoft sign-in."
MSG_FOREIGN_TENANT = "This sign-in is for another organisation."
MSG_NO_EMAIL = (
    "Your Microsoft account has no email address, so it cannot be matched to a person in this app."
)
MSG_NON_ASCII_EMAIL = (
    "Your Microsoft account's email address contains characters this app does not accept; please tell "
    "the coordinator."
)
MSG_INVALID = "The sign-in token is not valid; please sign in again."
MSG_MISCONFIGURED = (
    "Microsoft sign-in is misconfigured (MS_CLIENT_ID and MS_TENANT_ID, the directory ID, are "
    "needed); please tell the coordinator."
)
MSG_LOCAL_REFUSED = "Local sign-in is disabled because Microsoft sign-in is configured."
MSG_LOCAL_MODE = (
    "Local mode: Microsoft sign-in is not configured, so anyone can pick a demo person. "
    "Do not use it for real data."
)


class TokenRejected(Exception):
    """The sign-in cannot be accepted; `message` is safe to show to the person signing in."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class VerifiedIdentity:
    oid: str
    email: str
    name: str
    tenant_id: str
    expires_at: datetime


_jwk_clients: dict[str, PyJWKClient] = {}
_jwk_clients_lock = threading.Lock()


def keys_url(tenant: str) -> str:
    return f"{LOGIN_HOST}/{tenant}/discovery/v2.0/keys"


def authority_url(tenant: str) -> str:
    return f"{LOGIN_HOST}/{tenant}"


def issuer_url(tenant: str) -> str:
    return f"{LOGIN_HOST}/{tenant}/v2.0"


def jwk_client_for(tenant: str) -> PyJWKClient:
    """One client per tenant for the life of the process, so keys are fetched once, not per rerun.

    Creating a client does not touch the network; the first verification does.
    """
    tenant = tenant.lower()
    with _jwk_clients_lock:
        client = _jwk_clients.get(tenant)
        if client is None:
            client = PyJWKClient(keys_url(tenant), cache_keys=True, timeout=JWKS_TIMEOUT_SECONDS)
            _jwk_clients[tenant] = client
        return client


def _reject(message: str, detail: str) -> TokenRejected:
    # The detail (library wording, claim values, never the token) is for the operator's log, never the
    # screen; a warning, so forged or replayed sign-ins show at the default log level.
    log.warning("Rejected Microsoft sign-in: %s", detail)
    return TokenRejected(message)


def verify_id_token(
    token: str,
    *,
    client_id: str,
    tenant_id: str,
    allowed_tenants: Iterable[str],
    jwk_client: PyJWKClient | None = None,
    leeway: float = 60,
    now: float | datetime | None = None,
) -> VerifiedIdentity:
    """Return who a Microsoft v2.0 ID token names, or raise `TokenRejected`.

    `now` exists for tests; in production PyJWT's own clock checks run as well.
    """
    tenant = (tenant_id or "").strip().lower()
    allowed = {t.strip().lower() for t in allowed_tenants if t and t.strip()}
    multi_tenant = tenant in MULTI_TENANT_AUTHORITIES
    if not client_id or not (multi_tenant or _GUID.match(tenant)):
        # A domain name as tenant would never match the GUID Microsoft puts in `iss`.
        raise _reject(MSG_MISCONFIGURED, f"client_id={client_id!r} tenant_id={tenant_id!r}")

    unverified = _unverified_claims(token)
    expected_issuer = _expected_issuer(unverified, tenant, allowed, multi_tenant)
    client = jwk_client if jwk_client is not None else jwk_client_for(tenant)
    signing_key = _signing_key(client, token)
    claims = _verified_claims(token, signing_key, client_id=client_id, expected_issuer=expected_issuer,
                              leeway=leeway, use_own_clock=now is not None, unverified=unverified, allowed=allowed)
    _check_clock(claims, now=time.time() if now is None else now, leeway=leeway)
    return _identity_of(claims, tenant=tenant, allowed=allowed, multi_tenant=multi_tenant)


def _unverified_claims(token: str) -> dict[str, Any]:
    """The token's claims before any check, once its header names an accepted algorithm and a key."""
    if not isinstance(token, str) or not token.strip():
        raise _reject(MSG_NO_TOKEN, "empty token")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _reject(MSG_MALFORMED, f"undecodable: {exc}") from None
    if header.get("alg") not in ALGORITHMS:
        raise _reject(MSG_ALGORITHM, f"alg={header.get('alg')!r}")
    if not isinstance(header.get("kid"), str):
        raise _reject(MSG_UNKNOWN_KEY, "no kid in header")
    return unverified


def _expected_issuer(unverified: dict[str, Any], tenant: str, allowed: set[str], multi_tenant: bool) -> str:
    """The issuer the token must name: the configured tenant's, or (multi-tenant) its own allowed tenant's."""
    if multi_tenant:
        claimed_tid = str(unverified.get("tid") or "").lower()
        if claimed_tid not in allowed:
            raise _reject(MSG_FOREIGN_TENANT, f"tid={claimed_tid!r} not in allowed tenants")
        # Still an exact issuer: the token's tenant, once that tenant is known to be allowed.
        expected_issuer = issuer_url(claimed_tid)
    else:
        expected_issuer = issuer_url(tenant)
    return expected_issuer


def _signing_key(client: PyJWKClient, token: str):
    """The published key the token's header names; each failure to get it in the person's words."""
    try:
        signing_key = client.get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError as exc:
        raise _reject(MSG_UNREACHABLE, f"key fetch failed: {exc}") from None
    except jwt.PyJWKClientError as exc:
        raise _reject(MSG_UNKNOWN_KEY, str(exc)) from None
    except (jwt.PyJWKSetError, jwt.PyJWKError) as exc:
        # Microsoft answered with something that is not a usable key set.
        raise _reject(MSG_UNREACHABLE, f"unusable key set: {exc}") from None
    except OSError as exc:
        raise _reject(MSG_UNREACHABLE, f"key fetch failed: {exc}") from None
    return signing_key


def _verified_claims(token: str, signing_key, *, client_id: str, expected_issuer: str, leeway: float,
                     use_own_clock: bool, unverified: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    """The claims once the signature, audience, issuer and (unless the caller keeps the clock) times hold."""
    try:
        claims = jwt.decode(
            token,
            signing_key.key,
            algorithms=ALGORITHMS,
            audience=client_id,
            issuer=expected_issuer,
            leeway=leeway,
            options={
                "require": REQUIRED_CLAIMS,
                "verify_signature": True,
                "verify_aud": True,
                "verify_iss": True,
                "verify_exp": not use_own_clock,
                "verify_nbf": not use_own_clock,
                "verify_iat": not use_own_clock,
                # Microsoft ID tokens carry one audience; a list is not something it issues.
                "strict_aud": True,
            },
        )
    except jwt.MissingRequiredClaimError as exc:
        raise _reject(
            f"The sign-in token is incomplete (missing '{exc.claim}'); please sign in again.",
            str(exc),
        ) from None
    except jwt.ExpiredSignatureError as exc:
        raise _reject(MSG_EXPIRED, str(exc)) from None
    except jwt.ImmatureSignatureError as exc:
        raise _reject(MSG_NOT_YET_VALID, str(exc)) from None
    except jwt.InvalidAudienceError as exc:
        raise _reject(MSG_AUDIENCE, f"{exc}; aud={unverified.get('aud')!r}") from None
    except jwt.InvalidIssuerError as exc:
        # The signature is already good here (PyJWT checks it before claims), so `tid` is Microsoft's.
        other_tenant = str(unverified.get("tid") or "").lower() not in allowed
        raise _reject(
            MSG_FOREIGN_TENANT if other_tenant else MSG_ISSUER,
            f"{exc}; iss={unverified.get('iss')!r} tid={unverified.get('tid')!r}",
        ) from None
    except jwt.InvalidSignatureError as exc:
        raise _reject(MSG_SIGNATURE, str(exc)) from None
    except jwt.InvalidAlgorithmError as exc:
        raise _reject(MSG_ALGORITHM, str(exc)) from None
    except jwt.PyJWTError as exc:
        raise _reject(MSG_INVALID, f"{type(exc).__name__}: {exc}") from None
    return claims


def _identity_of(claims: dict[str, Any], *, tenant: str, allowed: set[str], multi_tenant: bool) -> VerifiedIdentity:
    """Who verified claims name: an allowed tenant, an object id and an ASCII email."""
    tid = claims["tid"]
    if not isinstance(tid, str) or tid.lower() not in allowed:
        raise _reject(MSG_FOREIGN_TENANT, f"tid={tid!r} not in allowed tenants")
    if not multi_tenant and tid.lower() != tenant:
        raise _reject(MSG_FOREIGN_TENANT, f"tid={tid!r} is not the configured tenant")
    oid = claims["oid"]
    if not isinstance(oid, str) or not oid.strip():
        raise _reject(MSG_INVALID, "oid is not a string")

    email = _email_from(claims)
    if email is None:
        raise _reject(MSG_NO_EMAIL, f"no email-like claim for oid={oid}")
    if not email.isascii():
        # Lower-casing folds look-alikes onto real addresses (KELVIN SIGN \u212a → "k"), so refuse them.
        raise _reject(MSG_NON_ASCII_EMAIL, f"non-ASCII email claim for oid={oid}")
    name = claims.get("name")
    return VerifiedIdentity(
        oid=oid,
        email=email,
        name=name.strip() if isinstance(name, str) and name.strip() else email,
        tenant_id=tid.lower(),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=timezone.utc),
    )


def _check_clock(claims: dict[str, Any], *, now: float | datetime, leeway: float) -> None:
    if isinstance(now, datetime):
        now = now.timestamp()
    try:
        exp, nbf, iat = int(claims["exp"]), int(claims["nbf"]), int(claims["iat"])
    except (TypeError, ValueError, OverflowError):
        raise _reject(MSG_INVALID, "exp/nbf/iat not integers") from None
    if exp <= now - leeway:
        raise _reject(MSG_EXPIRED, f"exp={exp} now={now:.0f}")
    if nbf > now + leeway or iat > now + leeway:
        raise _reject(MSG_NOT_YET_VALID, f"nbf={nbf} iat={iat} now={now:.0f}")


def _email_from(claims: dict[str, Any]) -> str | None:
    # preferred_username can be a phone number or bare login for some accounts; take the first
    # claim that is actually an address.
    for key in ("preferred_username", "email", "upn"):
        value = claims.get(key)
        if isinstance(value, str) and "@" in value.strip():
            value = value.strip()
            return value.lower() if value.isascii() else value
    return None


def microsoft_identity(settings: Settings) -> VerifiedIdentity | None:
    """The verified Microsoft user for this run, or None after drawing the sign-in / error UI.

    The only place that touches streamlit-msal: AppTest cannot run the component (Msal.initialize
    stops the script until the browser answers), so tests replace this function.
    """
    import streamlit as st
    from streamlit_msal import Msal

    if not (settings.ms_client_id and settings.ms_tenant_id):
        st.error(MSG_MISCONFIGURED)
        return None

    identity = _identity_from_this_session(settings)
    if identity is None:
        identity = _identity_from_component(settings, Msal)
    if identity is None:
        return None

    with st.sidebar:
        st.caption(f"Signed in as {identity.name} ({identity.email})")
        if st.button("Sign out", key="auth.sign_out"):
            st.session_state.pop(SESSION_TOKEN_KEY, None)
            Msal.sign_out()
    return identity


# The ID token this browser tab last handed over and that verified. Streamlit gives the sign-in component
# another widget id on every page (the page is part of the id), so after a page switch it reports
# nothing until it is drawn afresh; without this, a reload or a link to a page drew a blank page until a
# menu click. The token is verified again on every run (signature, audience, tenant, expiry), exactly as
# if the component had replayed it, so nothing is trusted from session state alone.
SESSION_TOKEN_KEY = "_auth_id_token"


def _verify_with(settings: Settings, token: object) -> VerifiedIdentity:
    return verify_id_token(token, client_id=settings.ms_client_id, tenant_id=settings.ms_tenant_id,
                           allowed_tenants=settings.ms_allowed_tenants)


def _identity_from_this_session(settings: Settings) -> VerifiedIdentity | None:
    import streamlit as st

    token = st.session_state.get(SESSION_TOKEN_KEY)
    if token is None:
        return None
    try:
        return _verify_with(settings, token)
    except TokenRejected:
        # Expired or keys rotated: ask the component again (it renews the sign-in or shows the prompt).
        st.session_state.pop(SESSION_TOKEN_KEY, None)
        return None


def _identity_from_component(settings: Settings, Msal) -> VerifiedIdentity | None:
    import streamlit as st

    # Headless `initialize`, not `initialize_ui`: the UI variant prints the browser-supplied account
    # name before anything has been verified.
    auth_data = Msal.initialize(
        client_id=settings.ms_client_id,
        authority=authority_url(settings.ms_tenant_id),
        scopes=list(SCOPES),
    )
    if not auth_data:
        st.info("Sign in with your Microsoft account to continue.")
        if st.button("Sign in with Microsoft", key="auth.sign_in", type="primary"):
            Msal.sign_in()
        return None

    token = auth_data.get("idToken") if isinstance(auth_data, dict) else None
    try:
        identity = _verify_with(settings, token)
    except TokenRejected as exc:
        # The component would keep replaying this token, so the session ends here until the person
        # signs in afresh or signs out.
        st.error(exc.message)
        again, out = st.columns(2)
        if again.button("Sign in again", key="auth.sign_in_again", type="primary"):
            Msal.sign_in()
        if out.button("Sign out", key="auth.sign_out_rejected"):
            Msal.sign_out()
        return None
    st.session_state[SESSION_TOKEN_KEY] = token
    return identity


def local_mode_allowed(settings: Settings) -> tuple[bool, str]:
    """Local (pick-a-demo-person) sign-in only where no Microsoft sign-in is set up.

    Otherwise a LOCAL_MODE flag left in an environment would let anyone be the coordinator of a
    deployment holding real student data.
    """
    microsoft = bool(
        settings.ms_client_id or settings.ms_tenant_id or settings.ms_allowed_tenants
    )
    if not microsoft:
        return True, MSG_LOCAL_MODE
    if settings.local_mode_requested:
        _warn_once("LOCAL_MODE is set but ignored: %s", MSG_LOCAL_REFUSED)
    return False, MSG_LOCAL_REFUSED


_warned: set[str] = set()
_warned_lock = threading.Lock()


def _warn_once(message: str, *args: object) -> None:
    """A warning about the deployment's settings, once per process rather than on every script run."""
    with _warned_lock:
        if message in _warned:
            return
        _warned.add(message)
    log.warning(message, *args)
