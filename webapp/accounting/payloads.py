"""Our models -> the interface's plain dataclasses (what a provider is given to push).

Pure apart from reading the connection's mappings and ledger links; a missing mapping is a
``PermanentError`` naming the field and the fix, raised before any vendor call.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from webapp.accounting.interfaces import (
    AccountPurpose,
    Address,
    BillData,
    CancelAction,
    CloseData,
    CustomerData,
    DocumentLine,
    InvoiceData,
    ItemData,
    Numbering,
    PurchaseOrderData,
    SupplierData,
    VoidData,
)
from webapp.accounting.models import LedgerConnection
from webapp.extensions import db
from webapp.integrations.interfaces import PermanentError
from webapp.integrations.models import Delivery, ExternalLink

CENT = Decimal("0.01")

# Subject types of deliveries and ledger links.
ORGANIZATION = "organization"
PRODUCT = "product"
SUPPLIER = "supplier"
CHARGE_ITEM = "charge_item"
SALES_DOCUMENT = "sales_document"
RECEIPT = "receipt"
PURCHASE_ORDER = "purchase_order"

# Non-product lines use these items (QuickBooks sales lines need an item).
FREIGHT_ITEM, SURCHARGE_ITEM, SUNDRY_ITEM = 1, 2, 3
CHARGE_ITEMS = {
    # Code and name kept from before shipping and freight were split: ledgers hold this item.
    FREIGHT_ITEM: ("FREIGHT", "Freight", AccountPurpose.SHIPPING),
    SURCHARGE_ITEM: ("SURCHARGE", "Payment surcharge", AccountPurpose.SURCHARGE),
    SUNDRY_ITEM: ("SUNDRY", "Sundry sales", AccountPurpose.INCOME),
}


def money(value: Decimal | int) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def link_for(connection_id: int, subject_type: str, subject_id: int) -> ExternalLink | None:
    return db.session.execute(
        db.select(ExternalLink).filter_by(
            connection_id=connection_id, subject_type=subject_type, subject_id=subject_id
        )
    ).scalar_one_or_none()


def _ledger_id(connection: LedgerConnection, subject_type: str, subject_id: int, what: str) -> str:
    link = link_for(connection.id, subject_type, subject_id)
    if link is None:
        # Dependencies are confirmed before a document is picked; this means one was removed.
        raise PermanentError(
            f"{what} is not in {connection.provider_label} yet.",
            field=what,
            fix="Retry: the prerequisite is queued first.",
        )
    return link.remote_id


def _account(connection: LedgerConnection, purpose: AccountPurpose, *, required: bool) -> str:
    mapping = connection.account_for(purpose)
    if mapping is None:
        if required:
            raise PermanentError(
                f"No {purpose.label.lower()} account is chosen for {connection.label}.",
                field=f"{purpose.label} account",
                fix="Choose it under Settings > Integrations > Accounts, then press Retry.",
            )
        return ""
    return mapping.ledger_account_id


def _tax(connection: LedgerConnection, tax_code: str) -> str:
    """Return the ledger tax type for our code; every sales line carries one, zero-rated too.

    Without an explicit type the ledger applies its own default (Xero: the account's tax
    rate), so the ledger's totals would drift from ours; an unmapped code blocks the document.
    """
    mapping = connection.tax_for(tax_code)
    if mapping is not None and mapping.ledger_tax_id:
        return mapping.ledger_tax_id
    raise PermanentError(
        f"Our tax code {tax_code or '(none)'!r} has no matching {connection.provider_label} "
        "tax rate.",
        field=f"Tax code {tax_code or '(none)'}",
        fix=f"Map tax code {tax_code or '(none)'} under Settings > Integrations > Tax rates, "
        "then press Retry.",
    )


def _purchase_tax(connection: LedgerConnection, tax_code) -> tuple[str, Decimal]:
    """Return the ledger's purchase tax type for our code and our rate (percent).

    A bill line carries its own type: a ledger applies tax on purchases under another type
    than on sales (Xero "GST on Expenses" INPUT, not OUTPUT), and without one it takes the
    account's default, so the bill's tax would not be ours. An unmapped code blocks the bill.
    """
    code = tax_code.code if tax_code is not None else ""
    mapping = connection.tax_for(code)
    if mapping is not None and mapping.purchase_tax_id:
        return mapping.purchase_tax_id, Decimal(tax_code.rate if tax_code is not None else 0)
    raise PermanentError(
        f"Our tax code {code or '(none)'!r} has no {connection.provider_label} tax rate for "
        "purchases.",
        field=f"Purchase tax code {code or '(none)'}",
        fix=f"Map tax code {code or '(none)'} on purchases under Settings > Integrations > "
        "Tax rates, then press Retry.",
    )


def _key(delivery: Delivery) -> str:
    return delivery.request_key


# -- name-list entities ----------------------------------------------------------------------


def customer_data(delivery: Delivery, organization) -> CustomerData:
    address = Address(
        organization.address_line1,
        organization.address_line2,
        organization.city,
        organization.region,
        organization.postcode,
        organization.country,
    )
    return CustomerData(
        key=_key(delivery),
        reference=f"org-{organization.id}",
        display_name=organization.name,
        account_number=organization.account_number,
        email=organization.email,
        phone=organization.phone,
        website=organization.website,
        notes=organization.notes,
        billing_address=address,
        shipping_address=address,
        maybe_sent=delivery.maybe_sent,
    )


def supplier_data(delivery: Delivery, supplier) -> SupplierData:
    return SupplierData(
        key=_key(delivery),
        reference=f"supplier-{supplier.id}",
        display_name=supplier.name,
        account_number=supplier.code,
        email=supplier.email,
        currency=supplier.currency,
        maybe_sent=delivery.maybe_sent,
    )


def product_code(product) -> str:
    """Return the item code a product has in every ledger (ItemData.code, line item_code)."""
    return (product.mpn or f"P{product.id}")[:30]


def item_data(delivery: Delivery, connection: LedgerConnection, product) -> ItemData:
    code = product_code(product)
    # QuickBooks item names are unique, <= 100 chars and may not contain ':' (API-NOTES 1.3).
    name = f"{code} {product.name}".replace(":", "-").replace("\t", " ").replace("\n", " ")
    return ItemData(
        key=_key(delivery),
        reference=f"product-{product.id}",
        code=code,
        name=name[:100].strip(),
        description=product.display_name,
        unit_price=product.fixed_price,
        unit_cost=product.best_cost,
        income_account_id=_account(connection, AccountPurpose.INCOME, required=True),
        expense_account_id=_account(connection, AccountPurpose.EXPENSE, required=True),
        maybe_sent=delivery.maybe_sent,
    )


def charge_item_data(delivery: Delivery, connection: LedgerConnection) -> ItemData:
    code, name, purpose = CHARGE_ITEMS[delivery.subject_id]
    income = _account(connection, purpose, required=True)
    return ItemData(
        key=_key(delivery),
        reference=f"charge-{code.lower()}",
        code=code,
        name=name,
        description=name,
        purchased=False,
        income_account_id=income,
        expense_account_id="",
        maybe_sent=delivery.maybe_sent,
    )


# -- documents -------------------------------------------------------------------------------


def invoice_data(delivery: Delivery, connection: LedgerConnection, document) -> InvoiceData:
    income = _account(connection, AccountPurpose.INCOME, required=True)
    lines = []
    for line in document.lines:
        description = line.description
        if line.product_id is not None:
            item_id = _ledger_id(connection, PRODUCT, line.product_id, f"Item {line.sku}")
            product = _product(line.product_id)
            item_code = product_code(product)
            description = _brand_once(product, description)
        else:
            item_id = _ledger_id(connection, CHARGE_ITEM, SUNDRY_ITEM, "Sundry item")
            item_code = CHARGE_ITEMS[SUNDRY_ITEM][0]
        lines.append(
            DocumentLine(
                description=description,
                quantity=Decimal(line.quantity),
                unit_amount=money(line.unit_price),
                line_amount=money(line.line_subtotal),
                tax_amount=money(line.line_tax),
                item_ledger_id=item_id,
                item_code=item_code,
                account_id=income,
                tax_rate_id=_tax(connection, line.tax_code),
                our_tax_code=line.tax_code,
            )
        )
    for amount, tax, item, purpose, text in (
        (
            document.shipping_charge,
            document.shipping_tax,
            FREIGHT_ITEM,
            AccountPurpose.SHIPPING,
            f"Shipping: {document.shipping_method_name}".rstrip(": "),
        ),
        (
            document.surcharge_amount,
            document.surcharge_tax,
            SURCHARGE_ITEM,
            AccountPurpose.SURCHARGE,
            f"Payment surcharge ({document.surcharge_pct.normalize()}%)",
        ),
    ):
        if not amount:
            continue
        code = _default_tax_code(document)
        lines.append(
            DocumentLine(
                description=text,
                quantity=Decimal(1),
                unit_amount=money(amount),
                line_amount=money(amount),
                tax_amount=money(tax),
                item_ledger_id=_ledger_id(connection, CHARGE_ITEM, item, CHARGE_ITEMS[item][1]),
                item_code=CHARGE_ITEMS[item][0],
                # Shipping and surcharge have their own income accounts (no silent fallback).
                account_id=_account(connection, purpose, required=True),
                tax_rate_id=_tax(connection, code),
                our_tax_code=code,
            )
        )
    issued = document.ready_to_invoice_at or document.created_at
    return InvoiceData(
        key=_key(delivery),
        reference=document.number,
        customer_ledger_id=_ledger_id(
            connection, ORGANIZATION, document.organization_id, "Customer"
        ),
        issue_date=issued.date(),
        due_date=None,
        currency=document.currency,
        lines=tuple(lines),
        status=connection.invoice_status,
        number=document.number if connection.numbering == Numbering.OURS else None,
        customer_po=document.customer_po,
        memo=document.note,
        subtotal=money(document.subtotal),
        tax_total=money(document.tax_total),
        total=money(document.total),
        maybe_sent=delivery.maybe_sent,
    )


def void_data(delivery: Delivery, connection: LedgerConnection, document) -> VoidData:
    """Name the ledger invoice a cancelled document's void (or credit note) undoes."""
    from webapp.models_base import utcnow

    link = link_for(connection.id, SALES_DOCUMENT, document.id)
    if link is None:
        raise PermanentError(
            f"{connection.provider_label} holds no invoice for {document.number} to void.",
            field="Invoice",
            fix="Nothing to undo in the ledger; dismiss this notification.",
        )
    # QuickBooks always voids; the choice between a void and a credit note is Xero's.
    action = connection.cancel_action if connection.provider == "xero" else CancelAction.VOID
    return VoidData(
        key=_key(delivery),
        reference=document.number,
        invoice_ledger_id=link.remote_id,
        invoice_number=link.remote_number,
        action=action,
        issue_date=utcnow().date(),
        maybe_sent=delivery.maybe_sent,
    )


def close_data(delivery: Delivery, connection: LedgerConnection, order) -> CloseData:
    """Name the ledger purchase order a cancelled PO's close undoes."""
    link = link_for(connection.id, PURCHASE_ORDER, order.id)
    if link is None:
        raise PermanentError(
            f"{connection.provider_label} holds no purchase order {order.number} to close.",
            field="Purchase order",
            fix="Nothing to undo in the ledger; dismiss this notification.",
        )
    return CloseData(
        key=_key(delivery),
        reference=order.number,
        purchase_order_ledger_id=link.remote_id,
        maybe_sent=delivery.maybe_sent,
    )


def _product(product_id: int):
    from webapp.catalog.models import Product

    return db.session.get(Product, product_id)


def _brand_once(product, description: str) -> str:
    """Return a line description that names the brand once (lines stored as "Dell Dell ...")."""
    from webapp.catalog.models import brand_and_name

    brand = product.brand.name
    if description.casefold().startswith(f"{brand} ".casefold()):
        return brand_and_name(brand, description)
    return description


def _default_tax_code(document) -> str:
    """Return the code shipping and surcharge were taxed at: the default code (sales totals)."""
    from webapp.sales.operations import default_tax_code

    default = default_tax_code()
    if default is not None:
        return default.code
    codes = {line.tax_code for line in document.lines}
    return next(iter(codes)) if len(codes) == 1 else ""


def _purchase_line(connection: LedgerConnection, tax_code, **line) -> DocumentLine:
    """Return a bill or purchase-order line with the purchase tax type and amount of its code.

    Bills and purchase orders alike carry the type on every line: without one the ledger
    applies the account's default, so its tax (and total) would not be ours.
    """
    tax_type, rate = _purchase_tax(connection, tax_code)
    return DocumentLine(
        **line,
        tax_amount=money(line["line_amount"] * rate / 100),  # rounded once per line, as sales
        tax_rate_id=tax_type,
        our_tax_code=tax_code.code if tax_code is not None else "",
    )


def _freight_line(connection: LedgerConnection, amount: Decimal, tax_code) -> DocumentLine:
    """Return the supplier's freight line: the freight (cost) account, our default tax code."""
    amount = money(amount)
    return _purchase_line(
        connection,
        tax_code,
        description="Freight",
        quantity=Decimal(1),
        unit_amount=amount,
        line_amount=amount,
        account_id=_account(connection, AccountPurpose.FREIGHT, required=True),
    )


def bill_data(delivery: Delivery, connection: LedgerConnection, receipt) -> BillData:
    """The bill for a receipt: its costs (tax-exclusive, as receipted) and, on each line, the
    purchase tax type and amount of the product's tax code (freight: our default code)."""
    from webapp.sales.operations import default_tax_code

    expense = _account(connection, AccountPurpose.EXPENSE, required=True)
    default = default_tax_code()
    lines = []
    for line in receipt.lines:
        po_line = line.purchase_order_line
        lines.append(
            _purchase_line(
                connection,
                po_line.product.tax_code or default,
                description=_brand_once(po_line.product, po_line.description),
                quantity=Decimal(line.quantity),
                unit_amount=Decimal(line.unit_cost),
                line_amount=money(line.line_total),
                item_ledger_id=_ledger_id(
                    connection, PRODUCT, po_line.product_id, f"Item {po_line.supplier_sku}"
                ),
                item_code=product_code(po_line.product),
                account_id=expense,
            )
        )
    if receipt.freight:
        lines.append(_freight_line(connection, receipt.freight, default))
    tax_total = sum((line.tax_amount for line in lines), Decimal(0))
    po_link = link_for(connection.id, PURCHASE_ORDER, receipt.purchase_order_id)
    return BillData(
        key=_key(delivery),
        reference=f"RCPT-{receipt.id}",
        supplier_ledger_id=_ledger_id(connection, SUPPLIER, receipt.supplier_id, "Supplier"),
        supplier_invoice_number=receipt.supplier_invoice_number,
        issue_date=receipt.invoice_date,
        due_date=receipt.due_date,
        currency=receipt.currency,
        lines=tuple(lines),
        status=connection.bill_status,
        memo=f"Receipt against {receipt.purchase_order.number}",
        subtotal=money(receipt.subtotal),
        tax_total=tax_total,
        total=money(receipt.total) + tax_total,
        purchase_order_ledger_id=po_link.remote_id if po_link else "",
        payables_account_id=_account(connection, AccountPurpose.PAYABLES, required=False),
        maybe_sent=delivery.maybe_sent,
    )


def purchase_order_data(
    delivery: Delivery, connection: LedgerConnection, order
) -> PurchaseOrderData:
    """The PO as issued: its costs (tax-exclusive) and, on each line, the purchase tax type
    and amount of the product's tax code (freight: our default code), as on its bill."""
    from webapp.sales.operations import default_tax_code

    expense = _account(connection, AccountPurpose.EXPENSE, required=True)
    default = default_tax_code()
    lines = [
        _purchase_line(
            connection,
            line.product.tax_code or default,
            description=_brand_once(line.product, line.description),
            quantity=Decimal(line.quantity),
            unit_amount=Decimal(line.unit_cost),
            line_amount=money(Decimal(line.unit_cost) * line.quantity),
            item_ledger_id=_ledger_id(
                connection, PRODUCT, line.product_id, f"Item {line.supplier_sku}"
            ),
            item_code=product_code(line.product),
            account_id=expense,
        )
        for line in order.lines
    ]
    if order.freight:
        # The supplier's freight on the PO goes to the freight (cost) account, as on the bill.
        lines.append(_freight_line(connection, order.freight, default))
    lines = tuple(lines)
    subtotal = money(sum((line.line_amount for line in lines), Decimal(0)))
    tax_total = sum((line.tax_amount for line in lines), Decimal(0))
    issued = order.issued_at or order.created_at
    return PurchaseOrderData(
        key=_key(delivery),
        reference=order.number,
        supplier_ledger_id=_ledger_id(connection, SUPPLIER, order.supplier_id, "Supplier"),
        number=order.number,
        issue_date=issued.date(),
        delivery_date=None,
        currency=order.currency,
        lines=lines,
        memo=order.note,
        subtotal=subtotal,
        tax_total=tax_total,
        total=subtotal + tax_total,
        payables_account_id=_account(connection, AccountPurpose.PAYABLES, required=False),
        maybe_sent=delivery.maybe_sent,
    )
