"""The patterns app's migrations as the next release will ship them: today's, then one that
adds a nullable column to Pattern. The upgrade tests (tests/remediation/test_upgrade.py)
point MIGRATION_MODULES here, so an upgrade runs the plan Django would build for it."""
