"""The design's Prometheus metrics, derived from the database at scrape time.

``selectors`` holds the reads (one cheap, index-backed query each); ``collector`` turns each
into one metric family. See docs/observability.md for what every number means.
"""
