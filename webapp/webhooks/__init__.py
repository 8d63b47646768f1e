"""Outbound webhooks: signed (Standard Webhooks 1.0) events sent through the integrations outbox."""
