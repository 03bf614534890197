"""Connectors: how the system asks a platform about an action's target (health, backups).

``Connector`` is the interface, ``get_connector(platform)`` the lookup; ``registry.use``
installs one for a block (tests) and ``registry.register`` for good (app start-up).
"""
