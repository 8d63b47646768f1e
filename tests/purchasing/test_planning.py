"""The planning job: own stock first, the optimizer for the rest, draft or issued POs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from tests.conftest import redis_unreachable
from tests.purchasing.conftest import configure, issue, offer, po_lines, purchase_orders
from webapp.extensions import db
from webapp.jobs import QueuedJob, sweep_queued_jobs
from webapp.models_base import utcnow
from webapp.purchasing import ordering, planning
from webapp.purchasing.models import (
    BidPrice,
    PurchaseOrderStatus,
    StockAllocation,
    StockItem,
)
from webapp.sales import operations as sales_operations
from webapp.sales.models import (
    DocumentStatus,
    FulfilmentStatus,
    ProcurementStatus,
    SalesDocument,
)


def reload(document: SalesDocument) -> SalesDocument:
    db.session.expire_all()
    return db.session.get(SalesDocument, document.id)


def test_approving_a_document_plans_it_in_a_worker(store, market, run_jobs):
    document = issue(store, (market.e16, 3))
    db.session.commit()
    run_jobs()
    document = reload(document)
    [line] = po_lines(document)
    assert document.procurement_status is ProcurementStatus.PLANNED
    assert (line.purchase_order.supplier_id, line.quantity, line.unit_cost) == (
        market.ingram.id,
        3,
        Decimal("700.0000"),
    )
    assert line.purchase_order.status is PurchaseOrderStatus.DRAFT  # suggestions by default
    assert line.decision["summary"] == "3 from Ingram"
    assert line.decision["candidates"][0]["won"] is True
    assert "procurement.run" in [e.type for e in document.events]


def test_redis_down_after_the_approval_the_sweep_plans_the_document(store, market, run_jobs):
    with redis_unreachable(current_app):
        document = issue(store, (market.e16, 3))
        db.session.commit()  # the enqueue after the commit fails; the job row waits
    (row,) = db.session.scalars(
        select(QueuedJob).filter_by(func="workers.purchasing.plan_document")
    )
    assert row.args == [document.id]
    assert reload(document).procurement_status is not ProcurementStatus.PLANNED

    assert sweep_queued_jobs(older_than=timedelta(0)) >= 1
    run_jobs()

    document = reload(document)
    assert document.procurement_status is ProcurementStatus.PLANNED
    assert [line.quantity for line in po_lines(document)] == [3]  # planned once


def test_a_held_document_is_not_planned_until_released(store, market, run_jobs):
    document = issue(store, (market.e16, 1), hold_reason="margin below floor")
    db.session.commit()
    run_jobs()
    assert purchase_orders() == []
    assert reload(document).procurement_status is ProcurementStatus.PENDING


def test_a_held_document_approved_through_the_status_route_is_planned(store, market, run_jobs):
    document = issue(store, (market.e16, 2), hold_reason="x")
    db.session.commit()
    run_jobs()
    assert purchase_orders() == []

    sales_operations.transition(reload(document), DocumentStatus.APPROVED, store.sales)
    db.session.commit()
    run_jobs()

    document = reload(document)
    [line] = po_lines(document)
    assert (line.quantity, line.purchase_order.supplier_id) == (2, market.ingram.id)
    assert document.procurement_status is ProcurementStatus.PLANNED
    assert document.hold_reason == ""


def test_line_is_split_when_no_supplier_has_enough_and_the_decision_says_why(store, market):
    document = issue(store, (market.t14, 6))
    planning.plan_document(document)
    db.session.flush()
    by_supplier = {line.purchase_order.supplier.name: line for line in po_lines(document)}
    # Dicker is cheaper but has 2; Ingram supplies the other 4.
    assert {name: line.quantity for name, line in by_supplier.items()} == {
        "Dicker Data": 2,
        "Ingram": 4,
    }
    decision = by_supplier["Ingram"].decision
    reasons = {c["supplier_name"]: c["reason"] for c in decision["candidates"]}
    assert "split" in reasons["Dicker Data"]
    assert decision["method"] in ("mip", "greedy")


def test_own_stock_is_allocated_before_anything_is_bought(store, market):
    db.session.add(StockItem(product=market.e16, quantity_on_hand=2, unit_cost=Decimal("650")))
    document = issue(store, (market.e16, 5))
    planning.plan_document(document)
    db.session.flush()
    [allocation] = db.session.scalars(select(StockAllocation)).all()
    [line] = po_lines(document)
    assert allocation.quantity == 2
    assert allocation.unit_cost == Decimal("650")
    assert line.quantity == 3
    assert db.session.scalar(select(StockItem)).available == 0
    assert document.fulfilment_status is FulfilmentStatus.PARTIAL


def test_services_and_own_stock_only_need_no_purchase_and_are_ready_to_invoice(
    store, market, run_jobs
):
    db.session.add(StockItem(product=market.e16, quantity_on_hand=5, unit_cost=Decimal("650")))
    document = issue(store, (market.e16, 2), (market.service, 3))
    db.session.commit()
    run_jobs()
    document = reload(document)
    assert purchase_orders() == []
    assert document.procurement_status is ProcurementStatus.NOT_NEEDED
    assert document.fulfilment_status is FulfilmentStatus.FULFILLED
    assert document.ready_to_invoice_at is not None


def test_planning_twice_buys_nothing_more(store, market):
    document = issue(store, (market.e16, 3))
    planning.plan_document(document)
    planning.plan_document(document)
    db.session.flush()
    assert [line.quantity for line in po_lines(document)] == [3]


def test_product_nobody_offers_leaves_the_document_needing_attention(store, market, run_jobs):
    document = issue(store, (market.service, 1), (market.e16, 1))
    market.e16.offers[0].available = False  # withdrawn from the feed since the sale
    db.session.commit()
    run_jobs()
    document = reload(document)
    assert purchase_orders() == []
    assert document.procurement_status is ProcurementStatus.NEEDS_ATTENTION
    [event] = [e for e in document.events if e.type == "procurement.unsourced"]
    assert "no supplier offers it" in event.message


def test_zero_and_negative_costs_are_ignored_with_a_note(store, market):
    offer(market.dicker, market.e16, "0.00", 50)
    offer(market.silent, market.e16, "-5.00", 50)
    document = issue(store, (market.e16, 2))
    outcome = planning.plan_document(document)
    db.session.flush()
    [line] = po_lines(document)
    assert line.purchase_order.supplier_id == market.ingram.id
    notes = [n for n in outcome.notes if "is not above zero" in n]
    assert len(notes) == 2
    assert any("Dicker Data" in n for n in notes) and any("Silent Supplies" in n for n in notes)


def test_bid_price_is_used_for_its_organization_only(store, market):
    today = utcnow().date()
    db.session.add(
        BidPrice(
            supplier=market.ingram,
            product=market.e16,
            organization=store.org,
            unit_cost=Decimal("600"),
            valid_from=today - timedelta(days=1),
            valid_until=today + timedelta(days=30),
            reference="DEAL-7",
        )
    )
    mine = issue(store, (market.e16, 1))
    theirs = issue(
        store, (market.e16, 1), organization=store.other_org, contact=store.other_customer
    )
    planning.plan_document(mine)
    planning.plan_document(theirs)
    db.session.flush()
    [my_line] = po_lines(mine)
    [their_line] = po_lines(theirs)
    assert (my_line.unit_cost, my_line.bid_used) == (Decimal("600.0000"), True)
    assert (their_line.unit_cost, their_line.bid_used) == (Decimal("700.0000"), False)


def test_expired_bid_is_not_used(store, market):
    today = utcnow().date()
    db.session.add(
        BidPrice(
            supplier=market.ingram,
            product=market.e16,
            organization=store.org,
            unit_cost=Decimal("600"),
            valid_from=today - timedelta(days=30),
            valid_until=today - timedelta(days=1),
        )
    )
    document = issue(store, (market.e16, 1))
    planning.plan_document(document)
    db.session.flush()
    [line] = po_lines(document)
    assert line.bid_used is False


def test_demand_from_two_documents_merges_into_one_draft_per_supplier(store, market):
    first = issue(store, (market.e16, 1))
    second = issue(store, (market.e16, 2))
    planning.plan_document(first)
    planning.plan_document(second)
    db.session.flush()
    [po] = purchase_orders()
    assert sorted(line.quantity for line in po.lines) == [1, 2]
    assert {line.sales_document_id for line in po.lines} == {first.id, second.id}
    assert po.subtotal == Decimal("2100.00")


def test_no_merge_setting_gives_each_document_its_own_po(store, market):
    configure(store, purchasing_merge_drafts="off")
    first = issue(store, (market.e16, 1))
    second = issue(store, (market.e16, 2))
    planning.plan_document(first)
    planning.plan_document(second)
    db.session.flush()
    assert len(purchase_orders()) == 2


def test_issue_to_supplier_mode_emails_the_po(store, market, run_jobs, mailbox):
    configure(store, purchasing_issue_mode="supplier")
    document = issue(store, (market.e16, 2))
    db.session.commit()
    run_jobs()
    [po] = purchase_orders()
    assert po.status is PurchaseOrderStatus.ISSUED
    [message] = mailbox.to("orders@ingram.example")
    assert po.number in message["Subject"]
    names = sorted(part.get_filename() for part in message.iter_attachments())
    assert names == [f"{po.number}.csv", f"{po.number}.pdf"]
    assert reload(document).procurement_status is ProcurementStatus.PLANNED


def test_supplier_without_email_keeps_its_po_as_a_draft_that_says_why(store, market, run_jobs):
    configure(store, purchasing_issue_mode="supplier")
    market.ingram.email = ""
    document = issue(store, (market.e16, 2))
    db.session.commit()
    run_jobs()
    [po] = purchase_orders()
    assert po.status is PurchaseOrderStatus.DRAFT
    assert "has no email address" in po.attention
    assert reload(document).procurement_status is ProcurementStatus.PLANNED


def test_suggestions_mode_emails_the_purchasing_officer(store, market, run_jobs, mailbox):
    configure(store, purchasing_officer_email="buyer@msp.example")
    issue(store, (market.e16, 2))
    db.session.commit()
    run_jobs()
    [po] = purchase_orders()
    [message] = mailbox.to("buyer@msp.example")
    assert po.number in mailbox.text(message)
    assert f"/admin/purchasing/orders/{po.id}" in mailbox.text(message)


def test_a_failed_run_leaves_the_document_needing_attention_and_nothing_half_planned(
    store, market, run_jobs
):
    # A supplier premium of -100% or less is invalid data the optimizer refuses.
    market.dicker.priority_premium_pct = Decimal("-150")
    db.session.add(StockItem(product=market.t14, quantity_on_hand=1, unit_cost=Decimal("900")))
    document = issue(store, (market.t14, 4))
    db.session.commit()
    run_jobs()
    document = reload(document)
    assert document.procurement_status is ProcurementStatus.NEEDS_ATTENTION
    assert purchase_orders() == []
    assert db.session.scalars(select(StockAllocation)).all() == []  # rolled back too
    [event] = [e for e in document.events if e.type == "procurement.failed"]
    assert "premium_pct" in event.message


def test_replan_keeps_lines_moved_by_hand_and_plans_the_rest_again(store, market, run_jobs):
    document = issue(store, (market.e16, 2), (market.t14, 1))
    db.session.commit()
    run_jobs()
    e16_line = next(line for line in po_lines(document) if line.product_id == market.e16.id)
    offer(market.dicker, market.e16, "710.00", 10)
    ordering.override_line_supplier(e16_line, market.dicker, store.purchasing, "faster")
    db.session.commit()
    planning.replan_document(reload(document), store.purchasing)
    db.session.commit()
    run_jobs()
    document = reload(document)
    lines = po_lines(document)
    assert sorted((line.purchase_order.supplier.name, line.quantity) for line in lines) == [
        ("Dicker Data", 1),
        ("Dicker Data", 2),
    ]
    assert document.procurement_status is ProcurementStatus.PLANNED
