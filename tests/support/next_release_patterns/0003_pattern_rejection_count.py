"""Today's patterns.migrations.0003_pattern_rejection_count, unchanged."""

from importlib import import_module

Migration = import_module("patterns.migrations.0003_pattern_rejection_count").Migration
