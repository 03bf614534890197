"""Every write of ``Ticket.status`` goes through ``ticket_transition``.

Read from the source with ``ast`` (like the choke-point test): the project's packages are
walked and every assignment to a ``status`` attribute, every ``setattr(..., "status", ...)``
and every queryset ``update(status=...)``/``bulk_update(..., ["status"])`` is found. Only
the one door may write a ticket's status; the other ``status`` fields of the project
(an approval request's, an alert's) are listed by name, so a new write anywhere fails here
until someone says what it writes.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("config", "remediation", "feedback", "patterns", "policies", "lab", "replay", "demo")
DOOR = "remediation.tickets.transitions:ticket_transition"
# Writes of other models' status fields: (module:function, the object written).
OTHER_MODELS = {
    ("remediation.approvals.services:_expire", "request"),  # ApprovalRequest
    ("remediation.approvals.services:_grant", "request"),
    ("remediation.approvals.services:_reject", "request"),
    ("remediation.approvals.services:approvals_after_resume", "request"),
    ("remediation.alerts.services:alert_resolve", "record"),  # AlertRecord
    # Counters updated by name (setattr with a variable field, update(**deltas)):
    ("patterns.services:pattern_update", "pattern"),  # Pattern: the locked row's values
    ("patterns.services:change", "p"),  # Pattern: one more feedback of a type
    ("patterns.services:pattern_rebuild", "p"),
    ("remediation.tickets.rollups:_add", "rows"),  # CategoryDailyStats counters
    ("remediation.tickets.rollups:_add_calibration", "rows"),  # CalibrationDailyStats counters
    ("lab.engine:before_facts", "facts"),  # a dict of a lab object's facts
    # The replay's own report rows, the policy and alert mappings it overrides, the
    # connectors it points at its lab server (replay): none is a ticket.
    ("replay.run:one", "row"),
    ("replay.run:apply_policy_overrides", "policy"),
    ("replay.run:apply_alert_mapping_overrides", "mapping"),
    ("replay.run:run", "PlatformConnector"),
}


def _root_name(node: ast.expr) -> str:
    """``Ticket`` for ``Ticket.objects.filter(...)``; ``ticket`` for ``ticket``."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return "?"


def _status_writes(tree: ast.AST, module: str) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()

    def visit(node: ast.AST, where: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            where = f"{module}:{node.name}"
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = [t for target in node.targets for t in ast.walk(target)]
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr == "status":
                found.add((where, _root_name(target.value)))
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "setattr" and len(node.args) >= 2:
                key = node.args[1]
                if not (isinstance(key, ast.Constant) and key.value != "status"):
                    found.add((where, _root_name(node.args[0])))
            if name == "update" and isinstance(func, ast.Attribute):
                keys = {k.arg for k in node.keywords}
                if "status" in keys or None in keys:  # None: update(**values)
                    found.add((where, _root_name(func.value)))
            if name == "bulk_update" and isinstance(func, ast.Attribute):
                fields = ast.unparse(node)
                if "status" in fields:
                    found.add((where, _root_name(func.value)))
        for child in ast.iter_child_nodes(node):
            visit(child, where)

    visit(tree, f"{module}:<module>")
    return found


def _all_status_writes() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.relative_to(ROOT).parts:  # not the checkout's own path
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            tree = ast.parse(path.read_text(), filename=str(path))
            found |= _status_writes(tree, module)
    return found


def test_only_the_door_writes_a_ticket_status():
    writes = _all_status_writes() - OTHER_MODELS
    assert writes == {(DOOR, "ticket")}, (
        "Ticket.status must change through ticket_transition; found other writes: "
        f"{sorted(writes - {(DOOR, 'ticket')})}"
    )


def test_the_reader_finds_each_kind_of_write():
    """The reader itself: each form of status write in a sample is found (so the test
    above cannot pass by finding nothing)."""
    sample = ast.parse(
        "def a(t):\n    t.status = 'resolved'\n"
        "def b(t):\n    setattr(t, 'status', 'resolved')\n"
        "def c():\n    Ticket.objects.filter(pk=1).update(status='resolved')\n"
        "def d(ts):\n    Ticket.objects.bulk_update(ts, ['status'])\n"
        "def e(t):\n    t.status += ''\n"
        "def f():\n    Ticket.objects.filter(pk=1).update(**values)\n"
        "def g(t):\n    t.outcome = 'success'\n"
    )
    assert _status_writes(sample, "m") == {
        ("m:a", "t"),
        ("m:b", "t"),
        ("m:c", "Ticket"),
        ("m:d", "Ticket"),
        ("m:e", "t"),
        ("m:f", "Ticket"),
    }
