"""Linked contacts kept in step with Autotask after linking, against the sandbox.

Our contact's name, phone and email changes go to the linked Autotask contact through the
outbox (read back); the reconciliation poll copies a name or phone changed in Autotask back,
raises a notice for an email changed there (ours is kept), and unlinks a contact made inactive
there, with a notice. Nothing is sent back that came from Autotask, and a change of ours that
is still waiting is not overwritten.
"""

from __future__ import annotations

from tests.psa.test_autotask_contacts import seed, urls
from webapp.extensions import db
from webapp.integrations.models import Delivery, DeliveryStatus, Notification
from webapp.psa.autotask.contact_sync import CONTACT_SYNC
from webapp.psa.contacts import contact_id


def linked(sandbox, client, store) -> int:
    """Jordan (our customer) linked to the Autotask contact Ann Buyer; her id."""
    _company, ann = seed(sandbox, client, store)
    response = client.post(
        urls(sandbox, store.org), data={"user_id": store.customer.id, "contact_id": str(ann)}
    )
    assert response.status_code == 303
    return ann


def poll():
    from workers.psa import reconcile

    [done] = reconcile().values()
    return done


def contact_patches(sandbox) -> list:
    return [r for r in sandbox.requests if r[0] == "PATCH" and r[1].endswith("/Contacts")]


def test_our_contacts_changes_are_delivered_to_the_linked_autotask_contact(
    app, store, client, quoting, run_jobs
):
    ann = linked(quoting, client, store)
    customer = store.customer
    customer.name, customer.phone = "Jordan Q. Lee", "555-0142"
    db.session.commit()
    [delivery] = db.session.scalars(db.select(Delivery).filter_by(kind=CONTACT_SYNC)).all()
    assert delivery.status == DeliveryStatus.PENDING
    run_jobs()
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.CONFIRMED
    held = quoting.record("Contacts", ann)
    assert (held["FirstName"], held["LastName"], held["Phone"]) == ("Jordan", "Q. Lee", "555-0142")
    # A later change is a delivery of its own; an email change goes too.
    customer.email = "jordan.lee@contoso.example"
    db.session.commit()
    run_jobs()
    assert quoting.record("Contacts", ann)["EmailAddress"] == "jordan.lee@contoso.example"
    assert (
        db.session.scalar(db.select(db.func.count(Delivery.id)).filter_by(kind=CONTACT_SYNC)) == 2
    )
    # Reading it back finds nothing new: our own writes are not taken for changes there.
    assert poll()["contacts"] == 0
    assert not db.session.scalars(db.select(Notification)).all()


def test_the_poll_copies_name_and_phone_changed_in_autotask_and_sends_nothing_back(
    app, store, client, quoting, run_jobs
):
    ann = linked(quoting, client, store)
    quoting.change("Contacts", ann, FirstName="Joanne", LastName="Lee", Phone="555-0999")
    assert poll()["contacts"] == 1
    db.session.commit()
    customer = store.customer
    db.session.refresh(customer)
    assert (customer.name, customer.phone) == ("Joanne Lee", "555-0999")
    assert not db.session.scalars(db.select(Delivery).filter_by(kind=CONTACT_SYNC)).all()
    before = len(contact_patches(quoting))
    run_jobs()
    assert len(contact_patches(quoting)) == before
    assert poll()["contacts"] == 0  # taken once


def test_an_email_changed_in_autotask_raises_a_notice_and_ours_is_kept(
    app, store, client, quoting, run_jobs
):
    ann = linked(quoting, client, store)
    email = store.customer.email
    quoting.change("Contacts", ann, EmailAddress="someone.else@contoso.example")
    assert poll()["contacts"] == 1
    db.session.commit()
    db.session.refresh(store.customer)
    assert store.customer.email == email
    [notice] = db.session.scalars(db.select(Notification)).all()
    assert "someone.else@contoso.example" in notice.message and email in notice.message
    poll()
    db.session.commit()
    assert len(db.session.scalars(db.select(Notification)).all()) == 1  # noticed once


def test_a_change_of_ours_waiting_to_be_sent_is_not_overwritten_by_the_poll(
    app, store, client, quoting, run_jobs
):
    ann = linked(quoting, client, store)
    store.customer.name = "Jordan Renamed"
    db.session.commit()  # queued, not sent yet
    assert poll()["contacts"] == 0
    db.session.commit()
    db.session.refresh(store.customer)
    assert store.customer.name == "Jordan Renamed"
    run_jobs()
    assert quoting.record("Contacts", ann)["LastName"] == "Renamed"


def test_a_contact_made_inactive_in_autotask_is_unlinked_with_a_notice(
    app, store, client, quoting, run_jobs
):
    ann = linked(quoting, client, store)
    quoting.change("Contacts", ann, IsActive=0)
    assert poll()["contacts"] == 1
    db.session.commit()
    assert contact_id(quoting.connection.id, store.customer) is None
    [notice] = db.session.scalars(db.select(Notification)).all()
    assert "inactive in Autotask" in notice.message and store.customer.name in notice.message
    # A change of ours afterwards has nowhere to go: nothing is queued.
    store.customer.phone = "555-0101"
    db.session.commit()
    assert not db.session.scalars(db.select(Delivery).filter_by(kind=CONTACT_SYNC)).all()


def test_a_name_and_phone_changed_on_the_organisation_page_go_to_autotask(
    app, store, client, quoting, run_jobs
):
    ann = linked(quoting, client, store)  # signed in as sales
    url = f"/admin/organizations/{store.org.id}/contacts/{store.customer.id}/details"
    response = client.post(url, data={"name": "Jordan Q. Lee", "phone": "555-0142"})
    assert response.status_code == 303
    [delivery] = db.session.scalars(db.select(Delivery).filter_by(kind=CONTACT_SYNC)).all()
    assert (delivery.status, delivery.subject_id) == (DeliveryStatus.PENDING, store.customer.id)
    run_jobs()
    held = quoting.record("Contacts", ann)
    assert (held["FirstName"], held["LastName"], held["Phone"]) == ("Jordan", "Q. Lee", "555-0142")
    # A refused edit queues nothing.
    assert client.post(url, data={"name": "", "phone": "1"}).status_code == 422
    assert (
        db.session.scalar(db.select(db.func.count(Delivery.id)).filter_by(kind=CONTACT_SYNC)) == 1
    )
