"""The machines of feed imports, emails, connections, notices and inbound events refuse what
they do not declare (issue 12: every stateful model changes status only through its machine)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from webapp.catalog.feeds import IMPORT
from webapp.catalog.models import ImportStatus
from webapp.integrations.inbound import INBOUND
from webapp.integrations.models import ConnectionStatus, InboundStatus, NotificationStatus
from webapp.integrations.operations import CONNECTION, NOTICE
from webapp.mail.models import EmailStatus
from webapp.mail.operations import EMAIL
from webapp.statemachine import IllegalTransition


def test_a_feed_import_runs_once_and_only_a_held_one_is_confirmed():
    run = SimpleNamespace(status=ImportStatus.QUEUED)
    IMPORT.fire(run, "start")
    with pytest.raises(IllegalTransition, match="feed import that is running cannot start"):
        IMPORT.fire(run, "start")
    IMPORT.fire(run, "hold")
    IMPORT.fire(run, "confirm")
    assert run.status is ImportStatus.QUEUED
    IMPORT.fire(run, "succeed")
    for step in ("start", "fail", "hold", "confirm", "succeed"):
        assert not IMPORT.can(run, step)


def test_a_sent_email_is_never_retried_or_failed():
    email = SimpleNamespace(status=EmailStatus.QUEUED)
    EMAIL.fire(email, "fail")
    EMAIL.fire(email, "send")  # RQ's retry of the job sends a failed email
    with pytest.raises(IllegalTransition, match="email that is sent cannot retry"):
        EMAIL.fire(email, "retry")
    with pytest.raises(IllegalTransition):
        EMAIL.fire(email, "fail")
    assert email.status is EmailStatus.SENT


def test_a_disconnected_connection_only_connects_again():
    connection = SimpleNamespace(status=ConnectionStatus.CONNECTED)
    CONNECTION.fire(connection, "needs_mapping")
    with pytest.raises(IllegalTransition):
        CONNECTION.fire(connection, "needs_mapping")
    CONNECTION.fire(connection, "mapped")
    CONNECTION.fire(connection, "disconnect")
    for step in ("needs_mapping", "mapped", "needs_reconnect", "disconnect"):
        with pytest.raises(IllegalTransition):
            CONNECTION.fire(connection, step)
    assert connection.status is ConnectionStatus.DISCONNECTED
    CONNECTION.fire(connection, "connect")
    assert connection.status is ConnectionStatus.CONNECTED


def test_a_notice_and_an_inbound_event_are_closed_once():
    note = SimpleNamespace(status=NotificationStatus.OPEN)
    NOTICE.fire(note, "resolve")
    with pytest.raises(IllegalTransition):
        NOTICE.fire(note, "resolve")
    event = SimpleNamespace(status=InboundStatus.RECEIVED)
    INBOUND.fire(event, "process")
    with pytest.raises(IllegalTransition, match="inbound event that is processed cannot refuse"):
        INBOUND.fire(event, "refuse")
