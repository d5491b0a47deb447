"""Deployment settings: environment variables first, then `.streamlit/secrets.toml`.

Streamlit users expect secrets.toml; containers and CI expect the environment. Reading both here keeps
every other module free of that choice. The TOML file is read directly (not through `st.secrets`) so
services, migrations and the CLI work without Streamlit running.
"""
from __future__ import annotations

import functools
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{ROOT / 'data' / 'allocator.db'}"
SECRETS_PATH = ROOT / ".streamlit" / "secrets.toml"


# Tables of secrets.toml the app reads; other tables belong to Streamlit or other tools.
READ_TABLES = ("allocator",)
# A key that looks like Microsoft sign-in: in a table the app does not read, it means the deployment believes
# sign-in is configured while the app would fall back to local mode (listing real people as demo choices).
_MICROSOFT_LOOKING = re.compile(r"^(ms_|microsoft|azure|entra|msal|aad)|client_id|tenant", re.IGNORECASE)


class SettingsError(Exception):
    """A settings file the app cannot read: `str(err)` is one line naming the file and the problem."""


def secrets_path() -> Path:
    return Path(os.environ.get("ALLOCATOR_SECRETS", SECRETS_PATH))


def _secrets() -> dict:
    path = secrets_path()
    if not path.is_file():
        return {}
    data = _parse(path)
    _refuse_unread_microsoft_keys(path, data)
    # Accept both flat keys and an [allocator] table, as users write either.
    flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
    flat.update(data.get("allocator", {}))
    return {k.upper(): v for k, v in flat.items()}


def _parse(path: Path) -> dict:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raise SettingsError(f"{path}: the file starts with a byte-order mark (BOM); save it as UTF-8 without BOM.")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise SettingsError(f"{path}: line {line} is not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as err:
        raise SettingsError(f"{path}: not valid TOML ({err}).") from None


def _refuse_unread_microsoft_keys(path: Path, data: dict) -> None:
    for table, values in data.items():
        if not isinstance(values, dict) or table in READ_TABLES:
            continue
        if _MICROSOFT_LOOKING.search(table) or any(_MICROSOFT_LOOKING.search(str(k)) for k in values):
            raise SettingsError(f"{path}: the [{table}] table looks like Microsoft sign-in settings, but the app "
                                "reads only top-level keys and [allocator]; move MS_CLIENT_ID and MS_TENANT_ID "
                                "there.")


def get(name: str, default: str | None = None, *, secrets: dict | None = None) -> str | None:
    """One setting: the environment first, then `secrets` (read from the file when not given)."""
    value = os.environ.get(name)
    if value not in (None, ""):
        return value
    value = (_secrets() if secrets is None else secrets).get(name)
    return default if value in (None, "") else str(value)


def _split(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip().lower() for part in value.replace(";", ",").split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    database_url: str
    ms_client_id: str | None
    ms_tenant_id: str | None
    ms_allowed_tenants: tuple[str, ...]
    admin_emails: tuple[str, ...]
    local_mode_requested: bool
    timezone: str
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_from: str | None
    smtp_starttls: bool
    app_url: str | None
    extra: dict = field(default_factory=dict)
    # False where a one-shot job migrates (deploy/docker-compose.yml): replicas then only check the schema.
    migrate_on_start: bool = True

    @property
    def microsoft_configured(self) -> bool:
        return bool(self.ms_client_id or self.ms_tenant_id)

    @property
    def email_configured(self) -> bool:
        return bool(self.smtp_host and self.smtp_from)


def load() -> Settings:
    """The deployment's settings, parsed once per process and shared by every session and script run.

    They are parsed again only when their sources change (the environment, or the secrets file's size or
    modification time), which a server's never do but a test's do; checking that costs a `stat`, not 14
    TOML parses. An unreadable file raises `SettingsError` on every call: an error is never remembered."""
    return _parsed(_sources())


def _sources() -> tuple:
    path = secrets_path()
    try:
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = None
    return str(path), stamp, tuple(sorted(os.environ.items()))


@functools.lru_cache(maxsize=4)
def _parsed(sources: tuple) -> Settings:
    secrets = _secrets()

    def setting(name: str, default: str | None = None) -> str | None:
        return get(name, default, secrets=secrets)

    tenant = setting("MS_TENANT_ID")
    allowed = _split(setting("MS_ALLOWED_TENANTS")) or ((tenant.lower(),) if tenant else ())
    return Settings(
        database_url=setting("DATABASE_URL", DEFAULT_DATABASE_URL),
        ms_client_id=setting("MS_CLIENT_ID"),
        ms_tenant_id=tenant,
        ms_allowed_tenants=allowed,
        admin_emails=_split(setting("ADMIN_EMAILS")),
        local_mode_requested=(setting("LOCAL_MODE", "") or "").lower() in ("1", "true", "yes"),
        timezone=setting("ALLOCATOR_TIMEZONE", "Europe/London"),
        smtp_host=setting("SMTP_HOST"),
        smtp_port=int(setting("SMTP_PORT", "587")),
        smtp_user=setting("SMTP_USER"),
        smtp_password=setting("SMTP_PASSWORD"),
        smtp_from=setting("SMTP_FROM"),
        smtp_starttls=(setting("SMTP_STARTTLS", "true") or "").lower() in ("1", "true", "yes"),
        app_url=setting("APP_URL"),
        migrate_on_start=(setting("MIGRATE_ON_START", "true") or "").lower() in ("1", "true", "yes"),
    )


load.cache_clear = _parsed.cache_clear  # the next load() parses afresh
