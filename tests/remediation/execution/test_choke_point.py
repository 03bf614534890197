"""Every caller of the lab's (any MCP server's) write tools goes through the choke point.

Read from the source with ``ast``, so a new caller anywhere in the project fails this test:
the project's packages are walked, every call that can reach a write tool is found, and
the chain up to ``execution_run`` is checked link by link.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("config", "remediation", "feedback", "patterns", "policies", "replay", "demo")


def _functions_calling(predicate) -> set[str]:
    """'module:function' of every function whose body contains a call matching predicate."""
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.relative_to(ROOT).parts:  # not the checkout's own path
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            tree = ast.parse(path.read_text(), filename=str(path))
            for func in ast.walk(tree):
                if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(func):
                    if isinstance(node, ast.Call) and predicate(node):
                        found.add(f"{module}:{func.name}")
    return found


def _attr_call(name: str):
    return lambda node: isinstance(node.func, ast.Attribute) and node.func.attr == name


def _name_call(name: str):
    return lambda node: (
        (isinstance(node.func, ast.Name) and node.func.id == name)
        or (isinstance(node.func, ast.Attribute) and node.func.attr == name)
    )


def test_only_the_mcp_session_speaks_the_protocol():
    assert _functions_calling(_attr_call("call_tool")) == {"remediation.connectors.mcp:call"}


def test_only_the_connector_turns_an_operation_into_a_write_tool_call():
    def passes_operation_as_tool(node: ast.Call) -> bool:
        if not node.args:
            return False
        first = node.args[0]
        return isinstance(first, ast.Attribute) and first.attr == "operation"

    callers = _functions_calling(lambda n: passes_operation_as_tool(n) and _attr_call("_call")(n))
    assert callers == {"remediation.connectors.mcp_connector:execute"}


def test_only_the_runner_asks_a_connector_to_execute():
    def connector_execute(node: ast.Call) -> bool:
        # cursor.execute(sql, params) and schema_editor.execute(sql) take SQL; a connector's
        # execute takes (action, idempotency_key). A database cursor is recognised by its
        # name or by SQL text as the first argument; anything else with two arguments counts.
        if not (_attr_call("execute")(node) and len(node.args) == 2):
            return False
        receiver = node.func.value  # type: ignore[attr-defined]
        if isinstance(receiver, ast.Name) and (
            receiver.id.endswith("cursor") or receiver.id == "schema_editor"
        ):
            return False
        return not isinstance(node.args[0], ast.Constant | ast.JoinedStr)

    assert _functions_calling(connector_execute) == {
        "remediation.execution.runner:_run_one",
        "remediation.execution.runner:_roll_back",
    }


def test_the_runner_is_reached_only_from_execution_run_after_the_claim():
    assert _functions_calling(_name_call("_run_one")) == {
        "remediation.execution.runner:run_actions"
    }
    assert _functions_calling(_name_call("_roll_back")) == {
        "remediation.execution.runner:run_actions"
    }
    assert _functions_calling(_name_call("run_actions")) == {
        "remediation.execution.services:execution_run"
    }
    source = (ROOT / "remediation/execution/services.py").read_text()
    run = source[source.index("def execution_run(") :]
    run = run[: run.index("\ndef ")]
    # Inside execution_run the claim, the re-checks and the intent audit come first.
    order = [
        run.index("select_for_update()"),
        run.index("state=ExecutionState.PENDING).update("),
        run.index("claim.recheck("),
        run.index("AuditAction.EXECUTION_CLAIMED"),
        run.index("run_actions("),
    ]
    assert order == sorted(order)


def test_execution_run_is_called_only_by_its_task():
    assert _functions_calling(_name_call("execution_run")) == {
        "remediation.execution.tasks:run_execution"
    }
