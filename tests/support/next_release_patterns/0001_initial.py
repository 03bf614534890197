"""Today's patterns.migrations.0001_initial, unchanged."""

from importlib import import_module

Migration = import_module("patterns.migrations.0001_initial").Migration
