"""Carriers' tracking numbers on receipts: which carriers we link to, and the number's rules.

A supplier's invoice often names the consignment it shipped on; staff key it with the receipt
and the customer's My orders and shipment email show it, linked to the carrier's own tracking
page when we know the carrier. The link templates are the carriers' public tracking pages.
"""

from __future__ import annotations

import re
from urllib.parse import quote

# code -> (name, tracking page with {number}); "" is "another carrier" (shown, not linked).
CARRIERS: dict[str, tuple[str, str]] = {
    "ups": ("UPS", "https://www.ups.com/track?tracknum={number}"),
    "fedex": ("FedEx", "https://www.fedex.com/fedextrack/?trknbr={number}"),
    "dhl": (
        "DHL Express",
        "https://www.dhl.com/global-en/home/tracking/tracking-express.html"
        "?submit=1&tracking-id={number}",
    ),
    "usps": ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}"),
    "auspost": ("Australia Post", "https://auspost.com.au/mypost/track/details/{number}"),
    "startrack": ("StarTrack", "https://startrack.com.au/track/details/{number}"),
    "tnt": (
        "TNT",
        "https://www.tnt.com/express/en_gc/site/shipping-tools/tracking.html"
        "?searchType=con&cons={number}",
    ),
    "nzpost": ("NZ Post", "https://www.nzpost.co.nz/tools/tracking/item/{number}"),
    "royalmail": (
        "Royal Mail",
        "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
    ),
    "canadapost": (
        "Canada Post",
        "https://www.canadapost-postescanada.ca/track-reperage/en#/details/{number}",
    ),
}
CARRIER_CHOICES = [("", "Another carrier / not known")] + [
    (code, name) for code, (name, _url) in CARRIERS.items()
]
MAX_LENGTH = 100
# Letters, digits and the separators carriers print (spaces and dashes are kept as typed).
_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-./]*$")


class TrackingRefused(ValueError):
    """A tracking number or carrier we cannot store or link."""


def clean(number: str, carrier: str) -> tuple[str, str]:
    """Return the (number, carrier code) to store; raise TrackingRefused naming the problem."""
    number = " ".join((number or "").split())
    carrier = (carrier or "").strip()
    if carrier and carrier not in CARRIERS:
        raise TrackingRefused(
            f"Carrier {carrier[:40]!r} is not one we know: pick one from the list."
        )
    if not number:
        if carrier:
            raise TrackingRefused("Enter the tracking number for the carrier you picked.")
        return "", ""
    if len(number) > MAX_LENGTH:
        raise TrackingRefused(f"The tracking number is longer than {MAX_LENGTH} characters.")
    if not _SHAPE.match(number):
        raise TrackingRefused(
            "A tracking number holds letters, digits, spaces, dashes, dots or slashes only."
        )
    return number, carrier


def carrier_name(code: str) -> str:
    return CARRIERS[code][0] if code in CARRIERS else ""


def tracking_url(number: str, code: str) -> str:
    """The carrier's tracking page for the number ("" when the carrier is not known)."""
    if not number or code not in CARRIERS:
        return ""
    return CARRIERS[code][1].format(number=quote(number.replace(" ", ""), safe=""))
