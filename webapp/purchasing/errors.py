"""Every refused purchasing change."""

from __future__ import annotations

from webapp.purchasing.models import PurchaseOrder, PurchaseOrderStatus


class PurchasingError(Exception):
    """A purchasing change refused; the message says why, for people."""


class IllegalTransition(PurchasingError):
    """A PO status change its state machine does not allow."""

    def __init__(self, po: PurchaseOrder, wanted: PurchaseOrderStatus):
        super().__init__(
            f"{po.number} is {po.status.label.lower()}: it cannot become {wanted.label.lower()}"
        )
        self.current = po.status
        self.wanted = wanted


class PurchaseOrderLocked(PurchasingError):
    """An edit to a PO that was issued or receipted."""


class SupplierHasNoEmail(PurchasingError):
    """The PO cannot be sent: its supplier has no email address."""


class ReceiptRefused(PurchasingError):
    """A receipt that would be wrong (too many units, bad costs, nothing received...)."""


class DuplicateInvoice(ReceiptRefused):
    """The supplier's invoice number was already receipted."""
