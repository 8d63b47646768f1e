"""Linked contacts kept in step with their Autotask contacts, both ways (``webapp.psa.contacts``
makes the links).

Out: a change of our contact's name, phone or email, by whatever write path (the session is
watched before each flush), queues one delivery through the integrations outbox for each
Autotask connection where the contact is linked; the push sends the contact as it is when it
runs (``PATCH /Companies/{id}/Contacts``: contacts are written through their company,
API-NOTES 3.2), reads it back and compares (Autotask ignores what it does not accept).

Back (the reconciliation poll): a name or phone changed in Autotask is copied to our contact;
an email changed there raises a notice and is not copied (it is our contact's sign-in); a
contact made inactive (or gone) in Autotask is unlinked, with a notice. The link keeps short
digests of what Autotask held when we last saw it (``ExternalLink.version``), so only what was
changed *there* is taken back, and a change of ours still waiting to be sent is not overwritten
by the value it is about to replace.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.interfaces import PermanentError
from webapp.integrations.models import Delivery, DeliveryStatus, ExternalLink, SyncDirection
from webapp.integrations.outbox import ensure_delivery, schedule_sync
from webapp.psa.models import PsaConnection

CONTACT = "contact"  # the link subject (webapp.psa.contacts.CONTACT)
CONTACT_SYNC = "psa_contact"  # the delivery kind: our contact's details to Autotask
WATCHED = ("name", "phone", "email")
FROM_AUTOTASK = "_psa_from_autotask"  # set on a user the poll changes: not sent back


def full_name(record: dict) -> str:
    return " ".join(str(record.get(k) or "").strip() for k in ("firstName", "lastName")).strip()


def _digest(value: str) -> str:
    return hashlib.sha1(value.encode()).hexdigest()[:12]  # noqa: S324 - a change marker


def seen(record: dict) -> str:
    """What Autotask holds now, as the link keeps it: name, phone, email digests (38 chars)."""
    values = (
        full_name(record),
        str(record.get("phone") or "").strip(),
        str(record.get("emailAddress") or "").strip().lower(),
    )
    return ".".join(_digest(v) for v in values)


def contact_record(user, remote_id: int) -> dict:
    """Our contact as the Autotask contact's fields (names split as when it was created)."""
    first, _, last = user.name.strip().partition(" ")
    return {
        "id": remote_id,
        "firstName": first[:50] or user.email[:50],
        "lastName": (last.strip() or first)[:50],
        "emailAddress": user.email[:254],
        "phone": (user.phone or "")[:25],
    }


# -- out: our changes, through the outbox ------------------------------------------------------


def _connections() -> list[PsaConnection]:
    from webapp.psa import operations

    return [c for c in core.active_connections(PsaConnection) if c.provider == operations.AUTOTASK]


def queue_contact(user) -> list[Delivery]:
    """Our contact changed: one delivery per connection where it is linked (a change made
    while one waits to be sent rides on it: the push sends the contact as it is then)."""
    out = []
    for connection in _connections():
        if core.link_for(connection.id, CONTACT, user.id) is None:
            continue
        waiting = db.session.scalars(
            db.select(Delivery).where(
                Delivery.connection_id == connection.id,
                Delivery.kind == CONTACT_SYNC,
                Delivery.subject_id == user.id,
            )
        ).all()
        pending = [d for d in waiting if d.status == DeliveryStatus.PENDING]
        if pending:
            out.append(pending[0])
        else:  # one delivery per change: the n-th change is subject "contact_n"
            subject = f"{CONTACT}_{len(waiting) + 1}"
            out.append(ensure_delivery(connection, CONTACT_SYNC, subject, user.id))
        schedule_sync(connection)
    return out


@event.listens_for(Session, "before_flush")
def _contacts_changed(session: Session, _context, _instances) -> None:
    from webapp.auth.models import User

    for row in list(session.dirty):
        if not isinstance(row, User) or getattr(row, FROM_AUTOTASK, False):
            continue
        state = inspect(row)
        if any(state.attrs[name].history.has_changes() for name in WATCHED):
            queue_contact(row)


def push_contact(connection: PsaConnection, client, user) -> tuple[str, str]:
    """Send our contact's details to its linked Autotask contact; (remote id, name)."""
    link = core.link_for(connection.id, CONTACT, user.id)
    if link is None:
        return "", "no longer linked"
    current = client.get("Contacts", int(link.remote_id))
    if not current or not current.get("isActive", 1):
        unlink(connection, link, user, "is inactive in Autotask" if current else "is gone")
        return link.remote_id, "unlinked"
    record = contact_record(user, int(link.remote_id))
    client.update_child("Companies", int(current["companyID"]), "Contacts", record)
    stored = client.get("Contacts", int(link.remote_id))
    from webapp.psa.autotask.quotes import differences

    differs = differences(record, stored)
    if differs:
        raise PermanentError(
            f"Autotask did not keep the contact's {', '.join(differs)}.",
            field=", ".join(differs),
            fix="Check the contact in Autotask (lengths, a duplicate email), then press Retry.",
        )
    link.version = seen(stored)
    link.remote_number = (full_name(stored) or link.remote_id)[:100]
    return link.remote_id, link.remote_number


# -- back: changes made in Autotask (the reconciliation poll) ----------------------------------


def unlink(connection: PsaConnection, link: ExternalLink, user, why: str) -> None:
    """The Autotask contact can no longer stand for ours: the link goes, with a notice."""
    name = link.remote_number or link.remote_id
    who = user.name if user is not None else f"contact #{link.subject_id}"
    message = (
        f"The Autotask contact {name} (id {link.remote_id}) {why}: {who} is no longer linked "
        "to it (opportunities, quotes and tickets are sent without a contact)."
    )
    core.notify(
        connection,
        None,
        f"{who} unlinked from Autotask",
        message,
        field="Contact",
        fix="Link another contact on the organisation page, or create one in Autotask.",
        cause=f"contact_unlinked:{link.subject_id}"[:50],
    )
    core.log_sync(connection, SyncDirection.PULL, "contact", remote_id=link.remote_id,
                  message=message)  # fmt: skip
    db.session.delete(link)


def pull_contacts(connection: PsaConnection, client) -> int:
    """Read every linked contact back; returns how many of ours changed or were unlinked."""
    from webapp.auth.models import User

    links = db.session.scalars(
        db.select(ExternalLink).filter_by(connection_id=connection.id, subject_type=CONTACT)
    ).all()
    by_remote = {int(link.remote_id): link for link in links}
    ids = sorted(by_remote)
    done = 0
    for start in range(0, len(ids), 500):  # at most 500 OR conditions (PSA-NOTES 1.6)
        chunk = ids[start : start + 500]
        rows = client.query("Contacts", [{"op": "in", "field": "id", "value": chunk}],
                            limit=len(chunk))  # fmt: skip
        held = {int(row["id"]): row for row in rows}
        for remote_id in chunk:
            link = by_remote[remote_id]
            user = db.session.get(User, link.subject_id)
            row = held.get(remote_id)
            if row is None or not row.get("isActive", 1):
                unlink(connection, link, user, "is inactive in Autotask" if row else "is gone")
                done += 1
                continue
            now = seen(row)
            if user is None or now == link.version:
                continue
            if link.version:  # empty: linked before digests were kept, nothing to compare
                done += _take_back(connection, link, user, row, now)
            link.version = now
    db.session.flush()
    for user in db.session.identity_map.values():
        if getattr(user, FROM_AUTOTASK, False):
            delattr(user, FROM_AUTOTASK)
    return done


def _take_back(connection: PsaConnection, link: ExternalLink, user, row: dict, now: str) -> int:
    """Copy the name and phone changed in Autotask; notice an email changed there."""
    setattr(user, FROM_AUTOTASK, True)  # what is copied here is not sent back to Autotask
    before = link.version.split(".")
    after = now.split(".")
    changes = []
    if before[0] != after[0] and full_name(row):
        changes.append(f"name {user.name} → {full_name(row)}")
        user.name = full_name(row)[:200]
        link.remote_number = user.name[:100]
    if before[1] != after[1]:
        phone = str(row.get("phone") or "").strip()[:50]
        changes.append(f"phone {user.phone or '(none)'} → {phone or '(none)'}")
        user.phone = phone
    if changes:
        message = f"{user.name}: " + ", ".join(changes) + " (from Autotask)."
        core.log_sync(connection, SyncDirection.PULL, "contact", remote_id=link.remote_id,
                      message=message)  # fmt: skip
    email = str(row.get("emailAddress") or "").strip()
    if before[2] != after[2] and email.lower() != user.email.lower():
        core.notify(
            connection,
            None,
            f"Email of {user.name} changed in Autotask",
            f"The Autotask contact {link.remote_number or link.remote_id} (id {link.remote_id}) "
            f"now has the email {email or '(none)'}; {user.name} signs in with {user.email}, "
            "which is not changed.",
            field="Email",
            fix=f"If {user.name}'s email really changed, change it here (it is then sent to "
            "Autotask); if not, correct it in Autotask.",
            cause=f"contact_email:{user.id}"[:50],
        )
    return 1 if changes or before[2] != after[2] else 0
