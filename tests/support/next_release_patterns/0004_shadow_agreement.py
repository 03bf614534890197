"""Today's patterns.migrations.0004_shadow_agreement, unchanged."""

from importlib import import_module

Migration = import_module("patterns.migrations.0004_shadow_agreement").Migration
