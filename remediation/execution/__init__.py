"""Execution: the one choke point through which every action reaches infrastructure.

``services.execution_request`` queues an execution; ``services.execution_run`` claims and
runs it (pre-check, execute, post-check, log; roll back on failure); ``services.
execution_sweep`` marks executions left running by a dead worker as unknown. Models in
``models``; the claim's re-checks in ``claim``; the per-step work in ``runner``.
"""
