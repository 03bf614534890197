"""Measure two bench databases side by side in one process: switch the default connection
between them before each call, so both sides share the same moment's load."""

from __future__ import annotations


def use_db(name: str) -> None:
    from django.db import connection

    if connection.settings_dict["NAME"] != name:
        connection.close()
        connection.settings_dict["NAME"] = name
