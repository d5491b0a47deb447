"""Deployment settings: environment variables first, then `.streamlit/secrets.toml`.

Streamlit users expect secrets.toml; containers and CI expect the environment. Reading both here keeps
every other module free of that choice. The TOML file is read directly (not through `st.secrets`) so
services, migrations and the CLI work without Streamlit running.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{ROOT / 'data' / 'allocator.db'}"
SECRETS_PATH = ROOT / ".streamlit" / "secrets.toml"


def _secrets() -> dict:
    path = Path(os.environ.get("ALLOCATOR_SECRETS", SECRETS_PATH))
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    # Accept both flat keys and an [allocator] table, as users write either.
    flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
    flat.update(data.get("allocator", {}))
    return {k.upper(): v for k, v in flat.items()}


def get(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value not in (None, ""):
        return value
    value = _secrets().get(name)
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
    tenant = get("MS_TENANT_ID")
    allowed = _split(get("MS_ALLOWED_TENANTS")) or ((tenant.lower(),) if tenant else ())
    return Settings(
        database_url=get("DATABASE_URL", DEFAULT_DATABASE_URL),
        ms_client_id=get("MS_CLIENT_ID"),
        ms_tenant_id=tenant,
        ms_allowed_tenants=allowed,
        admin_emails=_split(get("ADMIN_EMAILS")),
        local_mode_requested=(get("LOCAL_MODE", "") or "").lower() in ("1", "true", "yes"),
        timezone=get("ALLOCATOR_TIMEZONE", "Europe/London"),
        smtp_host=get("SMTP_HOST"),
        smtp_port=int(get("SMTP_PORT", "587")),
        smtp_user=get("SMTP_USER"),
        smtp_password=get("SMTP_PASSWORD"),
        smtp_from=get("SMTP_FROM"),
        smtp_starttls=(get("SMTP_STARTTLS", "true") or "").lower() in ("1", "true", "yes"),
        app_url=get("APP_URL"),
        migrate_on_start=(get("MIGRATE_ON_START", "true") or "").lower() in ("1", "true", "yes"),
    )
