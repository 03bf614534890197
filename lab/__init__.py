"""The bundled datacenter lab: an MCP server that simulates VMs, Kubernetes deployments and
pods, switch interfaces, volumes and OpenStack instances.

A program of its own: it imports nothing of Django and the application speaks to it only
over MCP (stdio by default, streamable HTTP when configured). Its state lives in one SQLite
file (``LAB_STATE_PATH``), so it survives between calls and processes and is safe under
concurrent writers (every change is one ``BEGIN IMMEDIATE`` transaction).

Modules: ``inventory`` (what exists at reset), ``engine`` (what each write does to the
state, pure functions over plain dicts), ``signals`` (what an investigator sees: readings,
never a condition's name), ``state`` (the SQLite store), ``server`` (the platform MCP
server connectors use), ``control`` (the separate control server: staging, reset, the
labelled truth), ``exporter`` (the state as node_exporter, kube-state-metrics, snmp_exporter…
series for Prometheus), ``__main__`` (``python -m lab [control | http [--control] |
exporter]``).
"""
