"""Ticket by email: a PSA without an API integration gets a ticket email per sales order event."""
