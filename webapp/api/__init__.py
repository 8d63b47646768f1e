"""The REST API at /api/v1: API keys, reads and writes through the domains' operations."""
