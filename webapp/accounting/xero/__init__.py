"""Xero ledger provider: client (HTTP), mapping (pure), errors (plain words), provider."""
