"""Who may call the API: API tokens, stored as a digest (a database reader gets no key)."""
