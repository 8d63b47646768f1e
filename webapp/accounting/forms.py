"""Forms of the integrations page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField

from webapp.accounting.interfaces import CancelAction, LedgerDocumentStatus, Numbering

_STATUSES = [(s.value, s.label) for s in LedgerDocumentStatus]


class OptionsForm(FlaskForm):
    """How bills and invoices are created in one ledger."""

    bill_status = SelectField("Bill status", choices=_STATUSES)
    invoice_status = SelectField("Invoice status", choices=_STATUSES)
    numbering = SelectField("Invoice numbers", choices=[(n.value, n.label) for n in Numbering])
    push_bills = BooleanField("Push a bill for every receipt")
    push_invoices = BooleanField("Push an invoice when a document is fully receipted")
    push_purchase_orders = BooleanField("Push purchase orders when issued (QuickBooks)")
    # Xero only; QuickBooks always voids. Left out of the post, the stored choice stays "void".
    cancel_action = SelectField(
        "When a document is cancelled after its invoice reached Xero",
        choices=[(a.value, a.label) for a in CancelAction],
        default=CancelAction.VOID.value,
    )

    def process(self, formdata=None, obj=None, data=None, **kwargs):
        super().process(formdata, obj, data, **kwargs)
        # Enum attributes on the connection -> their string values for the selects.
        for name in ("bill_status", "invoice_status", "numbering", "cancel_action"):
            value = self[name].data
            if hasattr(value, "value"):
                self[name].data = value.value

    def values(self) -> dict:
        return {
            "bill_status": LedgerDocumentStatus(self.bill_status.data),
            "invoice_status": LedgerDocumentStatus(self.invoice_status.data),
            "numbering": Numbering(self.numbering.data),
            "push_bills": self.push_bills.data,
            "push_invoices": self.push_invoices.data,
            "push_purchase_orders": self.push_purchase_orders.data,
            "cancel_action": CancelAction(self.cancel_action.data),
        }
