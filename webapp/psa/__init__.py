"""PSA connections (Autotask first): connect, check what the API user may do, read picklists."""
