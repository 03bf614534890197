"""Figures from a replay's rows (pure: no Django), the text report and the PNG chart."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

REPEAT_FROM = 10  # "by their 10th occurrence"


def critical_fix(kind: str, fixes: dict[str, str | None] | None = None) -> bool:
    """The kind's right fix is critical_write: a person approves it every time, by design.
    ``fixes``: each kind's fix as the run recorded it (else the built-in kinds')."""
    from remediation.catalogue.rules.operations import get_operation
    from replay.kinds import builtin_kinds

    if fixes is None or kind not in fixes:
        fixes = {k: v.fix for k, v in builtin_kinds().items()}
    fix = fixes.get(kind)
    op = get_operation(fix) if fix else None
    return op is not None and str(op.action_type) == "critical_write"


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    rows = result["rows"]
    fixes = result.get("fixes")
    by_pattern: dict[Any, list[dict]] = defaultdict(list)
    for r in rows:
        by_pattern[(r["kind"], r["pattern_id"])].append(r)
    patterns = []
    for (kind, pid), rs in sorted(by_pattern.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        first = next((i for i, r in enumerate(rs, 1) if r["unattended"]), None)
        patterns.append(
            {
                "kind": kind,
                "pattern_id": pid,
                "occurrences": len(rs),
                "first_unattended_at": first,
                "unattended": sum(r["unattended"] for r in rs),
            }
        )
    fixable = [r for r in rows if r["fixable"]]
    repeat = [r for r in fixable if r["occurrence"] >= REPEAT_FROM]
    repeat_unattended = [r for r in repeat if r["unattended"] and r["fixed_by_system"]]
    kinds_fixable = sorted({r["kind"] for r in fixable})
    repeat_safe = [r for r in repeat if not critical_fix(r["kind"], fixes)]
    repeat_safe_unattended = [r for r in repeat_safe if r["unattended"] and r["fixed_by_system"]]
    unattended = [r for r in rows if r["unattended"]]
    # Demotion: for each kind whose fix stopped working, how many drifted incidents ran
    # unattended (and so failed) before one was no longer run without a person.
    demotion = {}
    for kind in sorted({r["kind"] for r in rows if r["drifted"]}):
        drifted = [r for r in rows if r["kind"] == kind and r["drifted"]]
        failures = 0
        demoted_at = None
        for i, r in enumerate(drifted, 1):
            if r["unattended"]:
                failures += 1
            else:
                demoted_at = i
                break
        was_autonomous = any(
            r["unattended"] for r in rows if r["kind"] == kind and not r["drifted"]
        )
        demotion[kind] = {
            "was_autonomous_before": was_autonomous,
            "drifted_incidents": len(drifted),
            "unattended_failures_before_demotion": failures,
            "demoted": demoted_at is not None,
        }
    fix_times = [r["seconds_to_fix"] for r in rows if r["seconds_to_fix"] is not None]
    unattended_times = [r["seconds_to_fix"] for r in unattended if r["seconds_to_fix"] is not None]

    def pct(a: int, b: int) -> float | None:
        return round(100.0 * a / b, 1) if b else None

    return {
        "scenario": result["scenario"],
        "overrides": result["overrides"],
        "override_notes": result["override_notes"],
        "seconds": result["seconds"],
        "incidents": len(rows),
        "fixable_kinds": kinds_fixable,
        "patterns": patterns,
        "repeat_fixable": len(repeat),
        "repeat_fixable_unattended": len(repeat_unattended),
        "repeat_share_pct": pct(len(repeat_unattended), len(repeat)),
        "critical_fix_kinds": [k for k in kinds_fixable if critical_fix(k, fixes)],
        "repeat_noncritical": len(repeat_safe),
        "repeat_noncritical_unattended": len(repeat_safe_unattended),
        "repeat_noncritical_share_pct": pct(len(repeat_safe_unattended), len(repeat_safe)),
        "unattended": len(unattended),
        "wrong_unattended": sum(r["wrong_unattended"] for r in rows),
        "wrong_unattended_pct": pct(sum(r["wrong_unattended"] for r in rows), len(unattended)),
        "wrong_unattended_outside_drift": sum(
            r["wrong_unattended"] for r in rows if not r["drifted"]
        ),
        "unattended_outside_drift": sum(r["unattended"] for r in rows if not r["drifted"]),
        "critical_unattended": sum(r["critical_unattended"] for r in rows),
        "approvals_asked": sum(r["asked"] for r in rows),
        "approved": sum(bool(r["approved"]) for r in rows if r["asked"]),
        "rejected": sum(r["approved"] is False for r in rows if r["asked"]),
        "approved_wrong": sum(
            bool(r.get("approver_wrong")) for r in rows if r["asked"] and r["approved"]
        ),
        "rejected_wrong": sum(
            bool(r.get("approver_wrong")) for r in rows if r["asked"] and r["approved"] is False
        ),
        "review_ran": sum(r.get("reviewed") == "ran" for r in rows),
        "review_ran_fixed": sum(r.get("reviewed") == "ran" and r["fixed_by_system"] for r in rows),
        "review_closed": sum(r.get("reviewed") in ("closed", "recorded") for r in rows),
        "review_recorded": sum(r.get("reviewed") == "recorded" for r in rows),
        "review_record_wrong": sum(bool(r.get("reviewer_record_wrong")) for r in rows),
        "review_wrong": sum(bool(r.get("reviewer_wrong")) for r in rows),
        "executed": sum(r["executed"] for r in rows),
        "fixed_by_system": sum(r["fixed_by_system"] for r in rows),
        "feedback_given": sum(r["feedback"] is not None for r in rows),
        "feedback_wrong": sum(r["feedback_wrong"] for r in rows),
        "feedback_flipped": sum(bool(r.get("feedback_flipped")) for r in rows),
        "people": {
            k: result[k]
            for k in (
                "operator_coverage",
                "operator_error_rate",
                "approver_false_approve_rate",
                "approver_false_reject_rate",
                "reviewer_coverage",
            )
            if k in result
        },
        "fix_seconds_median": round(statistics.median(fix_times), 2) if fix_times else None,
        "fix_seconds_unattended_median": (
            round(statistics.median(unattended_times), 2) if unattended_times else None
        ),
        "fix_seconds_max": max(fix_times) if fix_times else None,
        "demotion": demotion,
        "reviews": len(result.get("reviews", [])),
        "reviews_cleared": sum(bool(v["cleared"]) for v in result.get("reviews", [])),
        "reviews_wrong": sum(v.get("right") is False for v in result.get("reviews", [])),
        "calibration": _calibration_brief(result.get("calibration") or {}),
        "category_mismatches": _category_mismatches(rows, result.get("categories") or {}),
        "statuses": dict(sorted(_count(r["status"] for r in rows).items())),
    }


def _category_mismatches(
    rows: list[dict[str, Any]], declared: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Kinds whose tickets were filed under another category than the kind declares (an
    alert's category is its ``category`` label, else the platform the analysis observed the
    cause on, else its mapping's default), with how many tickets got each category: the
    policy that applied is that category's."""
    found: dict[str, dict[str, Any]] = {}
    for kind, want in sorted(declared.items()):
        got = _count(r["category"] for r in rows if r["kind"] == kind and r.get("category"))
        if got and set(got) != {want}:
            found[kind] = {"declared": want, "filed_as": dict(sorted(got.items()))}
    return found


def _calibration_brief(cal: dict[str, Any]) -> dict[str, Any]:
    """Count, ECE and Brier of each prediction, overall and by category (bins left out)."""

    def brief(report: dict[str, Any] | None) -> dict[str, Any]:
        report = report or {}
        return {k: report.get(k) for k in ("count", "ece", "brier")}

    if not cal:
        return {}
    names = ("reliability", "ai_confidence", "calibrated_probability", "gate")
    return {
        **{name: brief(cal.get(name)) for name in names},
        "by_category": {
            c["category"]: {name: brief(c.get(name)) for name in names}
            for c in cal.get("by_category", [])
        },
    }


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _count(items) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for i in items:
        out[i] += 1
    return dict(out)


def text(s: dict[str, Any]) -> str:
    mode = "scenario overrides" if s["overrides"] else "shipped defaults"
    lines = [
        f"Replay {s['scenario']!r} with {mode}: {s['incidents']} incidents in {s['seconds']} s",
    ]
    for n in s["override_notes"]:
        lines.append(f"  {n}")
    lines.append("  per pattern (kind, pattern id): occurrences, first unattended at occurrence")
    for p in s["patterns"]:
        first = p["first_unattended_at"] or "never"
        lines.append(
            f"    {p['kind']:<15} #{p['pattern_id']!s:<4} {p['occurrences']:>3} occ, "
            f"first unattended: {first}, unattended {p['unattended']}"
        )
    lines += [
        f"  repeat incidents of fixable kinds (occurrence >= {REPEAT_FROM}) remediated without a "
        f"person: {s['repeat_fixable_unattended']}/{s['repeat_fixable']} = "
        f"{s['repeat_share_pct']}%",
        f"    of kinds whose fix is not critical_write (not {', '.join(s['critical_fix_kinds'])}):"
        f" {s['repeat_noncritical_unattended']}/{s['repeat_noncritical']} = "
        f"{s['repeat_noncritical_share_pct']}%",
        f"  unattended executions: {s['unattended']}; wrong: {s['wrong_unattended']} "
        f"({s['wrong_unattended_pct']}%; outside the phase where a fix stopped working: "
        f"{s['wrong_unattended_outside_drift']}/{s['unattended_outside_drift']}); "
        f"critical without a person: {s['critical_unattended']}",
        f"  approvals asked: {s['approvals_asked']} (approved {s['approved']}, of which wrong "
        f"{s.get('approved_wrong', 0)}; rejected {s['rejected']}, of which wrong "
        f"{s.get('rejected_wrong', 0)}); executed {s['executed']}, fixed by the system "
        f"{s['fixed_by_system']}",
        f"  review queue: proposals run by a reviewer {s.get('review_ran', 0)} (fixed by the "
        f"system {s.get('review_ran_fixed', 0)}), closed after a fix by hand "
        f"{s.get('review_closed', 0)} (what was done recorded: {s.get('review_recorded', 0)}, "
        f"its verdict on the proposal wrong {s.get('review_record_wrong', 0)}); the "
        f"reviewer's choice wrong against the lab's truth {s.get('review_wrong', 0)}",
        f"  operator feedback: {s['feedback_given']} given, {s['feedback_wrong']} not what the "
        f"lab showed; {s.get('feedback_flipped', 0)} flipped on purpose (a flip of a verdict "
        "misread from the API can land on the truth)",
        f"  ticket -> lab-confirmed fix (processing, approval wait not simulated): median "
        f"{s['fix_seconds_median']} s, unattended median {s['fix_seconds_unattended_median']} s, "
        f"max {s['fix_seconds_max']} s",
    ]
    people = s.get("people") or {}
    if "approver_false_approve_rate" in people:
        lines += [
            "  what the simulated people could see: the approver, the ticket as GET "
            "/api/v1/tickets/<id> shows it (diagnosis established, basis observed or words, "
            "needs_human, the proposed actions and their targets vs the affected system, "
            "reliability), wrong on purpose at "
            f"{people['approver_false_approve_rate']:g} (approving) / "
            f"{people['approver_false_reject_rate']:g} (rejecting);",
            f"    the reviewer, a {people.get('reviewer_coverage', 0):g} share of the tickets "
            "in manual review, the queue as GET /api/v1/reviews lists it (why, whether the "
            "proposal can run) and the ticket as the approver sees it: runs a proposal it "
            "judges sound (the approver's reading and error rates), else fixes by hand, "
            "records what it did and its verdict on the proposal (feedback from the queue), "
            "and closes the review;",
            f"    the operator, a {people['operator_coverage']:g} share of tickets, the same "
            "view afterwards (status, outcome, whether its alert resolved; when nothing ran, "
            "a proposal on a diagnosis established on observation, or none and a person "
            f"said to be needed), wrong on purpose at "
            f"{people['operator_error_rate']:g}; the admin reviewing flags, each flagged "
            "ticket as the API shows it to staff (status, outcome, whether the measured fix "
            "held): clears the flag when every such fix held, keeps it otherwise",
        ]
    for kind, d in s["demotion"].items():
        lines.append(
            f"  fix stops working ({kind}): autonomous before: {d['was_autonomous_before']}; "
            f"unattended failures before demotion: {d['unattended_failures_before_demotion']} "
            f"of {d['drifted_incidents']} drifted incidents; demoted: {d['demoted']}"
        )
    if s.get("reviews"):
        lines.append(
            f"  admin reviews of flagged patterns: {s['reviews']}; cleared (every flagged fix "
            f"was measured to hold): {s['reviews_cleared']}; kept: "
            f"{s['reviews'] - s['reviews_cleared']}; against the lab's truth, wrong: "
            f"{s.get('reviews_wrong', 0)}"
        )
    cal = s.get("calibration") or {}
    if cal:
        rel, ai = cal["reliability"], cal["ai_confidence"]
        lines.append(
            f"  calibration over {rel['count']} concluded tickets: reliability score ECE "
            f"{_fmt(rel['ece'])}, Brier {_fmt(rel['brier'])}; AI confidence ECE "
            f"{_fmt(ai['ece'])}, Brier {_fmt(ai['brier'])}"
        )
        gate, prob = cal.get("gate") or {}, cal.get("calibrated_probability") or {}
        lines.append(
            f"  the number the gate used (calibrated probability where fitted, else the "
            f"score): {gate.get('count')} tickets, ECE {_fmt(gate.get('ece'))}, Brier "
            f"{_fmt(gate.get('brier'))}; the calibrated probability alone: "
            f"{prob.get('count')} tickets, ECE {_fmt(prob.get('ece'))}, Brier "
            f"{_fmt(prob.get('brier'))}"
        )
        lines.append("    per category: tickets, then ECE / Brier of score | probability | gate")
        for category, c in cal["by_category"].items():
            cells = []
            for name in ("reliability", "calibrated_probability", "gate"):
                r = c.get(name) or {}
                cells.append(f"{_fmt(r.get('ece'))} / {_fmt(r.get('brier'))} (n {r.get('count')})")
            lines.append(f"    {category:<11} {c['reliability']['count']:>4}: " + " | ".join(cells))
    for kind, m in (s.get("category_mismatches") or {}).items():
        filed = ", ".join(f"{c} ({n})" for c, n in m["filed_as"].items())
        lines.append(
            f"  note: kind {kind} declares category {m['declared']}, its tickets were filed as "
            f"{filed}: an alert's category comes from its `category` label, else from the "
            "platform the analysis observed the cause on, else its mapping's default; that "
            "category's policy applied"
        )
    lines.append(f"  final statuses: {s['statuses']}")
    return "\n".join(lines)


def chart(results: list[dict[str, Any]], path: str) -> None:
    """Per kind, unattended (1) or not (0) by occurrence, one panel per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4), squeeze=False)
    for ax, result in zip(axes[0], results, strict=True):
        kinds = sorted({r["kind"] for r in result["rows"]})
        for offset, kind in enumerate(kinds):
            rs = [r for r in result["rows"] if r["kind"] == kind]
            xs = [r["occurrence"] for r in rs]
            ys = [offset + (0.8 if r["unattended"] else 0.0) for r in rs]
            ax.step(xs, ys, where="mid", label=kind)
            drift = [r["occurrence"] for r in rs if r["drifted"]]
            if drift:
                ax.axvspan(min(drift) - 0.5, max(drift) + 0.5, color="red", alpha=0.1)
        ax.set_yticks([i + 0.4 for i in range(len(kinds))], kinds)
        ax.set_xlabel("occurrence of the kind (red: its fix stopped working)")
        mode = "scenario overrides" if result["overrides"] else "shipped defaults"
        ax.set_title(f"{result['scenario']}: {mode} (step up = ran unattended)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def diagram(result: dict[str, Any], path: str) -> None:
    """The run's reliability diagram: per bin, the observed success rate against the mean
    prediction, for the score, the calibrated probability and the number the gate used;
    the dashed diagonal is perfect calibration, a point's size the tickets behind it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cal = result.get("calibration") or {}
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1)
    styles = {
        "reliability": ("score / 100", "tab:blue"),
        "calibrated_probability": ("calibrated probability", "tab:green"),
        "gate": ("number the gate used", "tab:red"),
    }
    for name, (label, colour) in styles.items():
        report = cal.get(name) or {}
        bins = [b for b in report.get("bins", []) if b.get("count")]
        if not bins:
            continue
        xs = [b["mean_predicted"] for b in bins]
        ys = [b["observed_rate"] for b in bins]
        sizes = [20 + 4 * b["count"] for b in bins]
        ece = report.get("ece")
        ax.plot(xs, ys, "-", color=colour, alpha=0.6)
        ax.scatter(xs, ys, s=sizes, color=colour, alpha=0.6,
                   label=f"{label} (n {report.get('count')}, ECE {_fmt(ece)})")  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("predicted probability of success (bin mean)")
    ax.set_ylabel("observed success rate")
    mode = "scenario overrides" if result.get("overrides") else "shipped defaults"
    ax.set_title(f"{result.get('scenario')}: {mode}")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
