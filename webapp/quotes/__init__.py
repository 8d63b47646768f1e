"""Quoting: staff build quotes, approvers accept a frozen snapshot through an emailed link."""
