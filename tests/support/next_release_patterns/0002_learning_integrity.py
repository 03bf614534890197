"""Today's patterns.migrations.0002_learning_integrity, unchanged."""

from importlib import import_module

Migration = import_module("patterns.migrations.0002_learning_integrity").Migration
