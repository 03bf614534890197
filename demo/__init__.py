"""The demo history of ``make run`` (``manage.py seed_demo``): clearly labelled ``DEMO-``
tickets built through the same services as real traffic (intake, analysis, the lab's
executions, trusted feedback), so a first look at the system shows patterns that earned
trust and requests waiting for approval.

An app of its own, above every other: it drives the whole journey (it submits feedback,
which ``remediation`` may not import), and nothing in the project imports it."""
