"""Periodic jobs, enqueued by the `clock` process (RQ's CronScheduler): one list, one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Periodic:
    func: str  # dotted path of a job function in workers/
    interval: int | None = None  # seconds
    cron: str | None = None  # crontab expression (UTC)
    queue: str = "default"


SCHEDULE: list[Periodic] = [
    # --- every job the app enqueues after a commit ---
    # Jobs committed while Redis was unreachable (webapp.jobs.QueuedJob): enqueued late, not lost.
    Periodic("workers.jobs.sweep_queued_jobs", cron="* * * * *"),
    # Each domain adds its periodic jobs here, e.g.
    # Periodic("workers.quotes.expire_quotes", cron="*/15 * * * *"),
    # --- quotes ---
    # Sent quotes past their expiry date become Expired; then scheduled reminders go out.
    Periodic("workers.quotes.expire_quotes", cron="*/15 * * * *"),
    Periodic("workers.quotes.send_quote_reminders", cron="*/5 * * * *"),
    # --- integrations core ---
    # Deliveries whose backoff ended, or whose worker died mid-push (every connection).
    Periodic("workers.integrations.sweep", cron="*/5 * * * *"),
    # --- psa ---
    # Autotask: opportunities won / lost there, tickets changed (webhooks miss some), and the
    # ticket webhook registered again when Autotask dropped it.
    Periodic("workers.psa.reconcile", cron="*/10 * * * *"),
    Periodic("workers.psa.keep_webhook", cron="7 * * * *"),
    # ConnectWise: callbacks registered again where missing or disabled, then the poll on
    # lastUpdated for what callbacks missed (opportunities, tickets, POs, the catalog).
    Periodic("workers.psa.connectwise_callbacks_health", cron="*/10 * * * *"),
    # --- api ---
    # Idempotency-Key responses are kept 24 hours (Stripe's rule), then deleted.
    Periodic("workers.api.prune_idempotency_records", cron="23 * * * *"),
    # --- security ---
    # Security events past SECURITY_EVENTS_RETENTION_DAYS (365; 0 keeps them), every night.
    Periodic("workers.security.prune_security_events", cron="53 3 * * *"),
    # --- accounting ---
    # Payments recorded in QuickBooks / Xero: the last month, every hour (BMS seed window).
    Periodic("workers.accounting.import_payments", cron="17 * * * *"),
    # Accounts and tax rates as the admin page shows them (an admin can refresh at once).
    Periodic("workers.accounting.refresh_lists", cron="41 4 * * *"),
]
