"""Eval reports: a terminal table, JSON and Markdown, with each failing question explained."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from evals.metrics import QuestionResult
from evals.runner import EvalRun

SHOWN = [
    "hit_at_1", "hit_at_3", "hit_at_5", "mrr", "citation_validity", "citation_precision", "answer_correctness",
    "grounding", "refusal_rate", "false_refusal_rate", "median_answer_chars", "latency_p50_ms", "latency_p95_ms",
]  # fmt: skip


def _fmt(value: float | None, name: str = "") -> str:
    if value is None:
        return "–"
    if name == "questions":
        return str(int(value))
    return (
        f"{value:.3f}"
        if name not in ("median_answer_chars", "latency_p50_ms", "latency_p95_ms")
        else f"{value:.1f}"
    )


def explain(r: QuestionResult) -> dict[str, Any]:
    return {
        "id": r.item.id,
        "question": r.item.question,
        "expected": {
            "answerable": r.item.answerable, "sources": r.item.expected_sources, "phrases": r.item.expected_phrases,
        },
        "got": {
            "answerable": r.answer.answerable, "answer": r.answer.answer,
            "sources": [c.source for c in r.answer.citations], "retrieved": r.ranked_sources[:5],
        },
        "problems": [p for p, bad in (
            ("refused an answerable question", r.item.answerable and r.refused),
            ("answered an unanswerable question", not r.item.answerable and not r.refused),
            ("no expected phrase in the answer", r.item.answerable and not r.refused and not r.correct),
            (f"invalid citations {r.invalid_citations}", bool(r.invalid_citations)),
            (f"unsupported sentences {r.unsupported}", bool(r.unsupported)),
        ) if bad],
    }  # fmt: skip


def to_json(run: EvalRun, failures: list[str], baseline: EvalRun | None = None) -> dict[str, Any]:
    report: dict[str, Any] = {
        "target": run.target,
        "metrics": run.metrics,
        "by": run.breakdown,
        "gate_failures": failures,
        "failing_questions": [explain(r) for r in run.failing()],
    }
    if baseline is not None:
        report["baseline"] = {"target": baseline.target, "metrics": baseline.metrics}
    return report


def print_table(console: Console, run: EvalRun, baseline: EvalRun | None = None) -> None:
    table = Table(title=f"{run.target}: {len(run.results)} questions")
    table.add_column("metric")
    table.add_column(run.target, justify="right")
    if baseline is not None:
        table.add_column(baseline.target, justify="right")
        table.add_column("delta", justify="right")
    metrics, base = run.metrics, baseline.metrics if baseline else {}
    for name in SHOWN:
        row = [name, _fmt(metrics[name], name)]
        if baseline is not None:
            delta = None if metrics[name] is None or base[name] is None else metrics[name] - base[name]  # type: ignore[operator]
            row += [_fmt(base[name], name), "–" if delta is None else f"{delta:+.3f}"]
        table.add_row(*row)
    console.print(table)
    for group, rows in run.breakdown.items():
        sub = Table(title=f"by {group}")
        sub.add_column(group)
        for name in (
            "questions",
            "hit_at_3",
            "answer_correctness",
            "citation_precision",
            "refusal_rate",
            "false_refusal_rate",
        ):
            sub.add_column(name, justify="right")
        for key, values in rows.items():
            sub.add_row(key, *(_fmt(values[n], n) for n in (
                "questions", "hit_at_3", "answer_correctness", "citation_precision", "refusal_rate", "false_refusal_rate")))  # fmt: skip
        console.print(sub)


def to_markdown(report: dict[str, Any]) -> str:
    lines = [f"# Eval report: {report['target']}", "", "| metric | value |" + (" baseline | delta |" if "baseline" in report else ""),
             "|---|---|" + ("---|---|" if "baseline" in report else "")]  # fmt: skip
    base = report.get("baseline", {}).get("metrics", {})
    for name in SHOWN:
        value = report["metrics"][name]
        row = f"| {name} | {_fmt(value, name)} |"
        if base:
            delta = None if value is None or base[name] is None else value - base[name]
            row += f" {_fmt(base[name], name)} | {'–' if delta is None else f'{delta:+.3f}'} |"
        lines.append(row)
    lines += ["", "## Gate", ""] + ([f"- {f}" for f in report["gate_failures"]] or ["All thresholds met."])
    for group, rows in report["by"].items():
        lines += ["", f"## By {group}", "", "| | questions | hit@3 | correctness | precision | refusal | false refusal |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for key, v in rows.items():
            lines.append(f"| {key} | " + " | ".join(_fmt(v[n], n) for n in (
                "questions", "hit_at_3", "answer_correctness", "citation_precision", "refusal_rate", "false_refusal_rate")) + " |")  # fmt: skip
    lines += ["", "## Failing questions", ""]
    for q in report["failing_questions"]:
        lines.append(f"- **{q['id']}** {q['question']} — {'; '.join(q['problems'])}")
        lines.append(f"  - expected: {q['expected']['sources'] or 'refusal'} {q['expected']['phrases']}")
        lines.append(f"  - got: {q['got']['answer'][:200]!r}")
    return "\n".join(lines) + "\n"
