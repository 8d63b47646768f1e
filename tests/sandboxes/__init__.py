"""Provide local QuickBooks Online and Xero stand-ins that validate against ../shared/specs."""

from .quickbooks import QboSandbox, create_qbo_sandbox
from .server import LiveServer, serve
from .specs import SKIP_REASON, require_specs, specs_dir
from .xero import XeroSandbox, create_xero_sandbox

__all__ = [
    "SKIP_REASON",
    "LiveServer",
    "QboSandbox",
    "XeroSandbox",
    "create_qbo_sandbox",
    "create_xero_sandbox",
    "require_specs",
    "serve",
    "specs_dir",
]
