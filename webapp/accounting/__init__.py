"""Accounting sync: ledger connections (QuickBooks Online, Xero), mappings and the outbox."""
