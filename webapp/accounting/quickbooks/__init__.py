"""QuickBooks Online provider (client, mapping, provider)."""
