"""Eval reports: a terminal table, JSON and Markdown, dev and test side by side, each failing question
explained. The gate reads the test split."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from crmkb.evals.metrics import QuestionResult
from crmkb.evals.runner import EvalRun

SPLITS = ("dev", "test")
SHOWN = [
    "questions", "hit_at_1", "hit_at_3", "mrr", "citation_validity", "citation_precision", "answer_correctness",
    "grounding", "refusal_rate", "false_refusal_rate", "off_point_rate", "list_completeness", "duplicate_quotes",
    "dangling_rate", "followup_distinct", "wrapper_robustness", "median_answer_chars", "latency_p50_ms",
    "latency_p95_ms",
]  # fmt: skip
BY = (
    "questions",
    "answer_correctness",
    "false_refusal_rate",
    "refusal_rate",
    "off_point_rate",
    "list_completeness",
)
_PLAIN = ("median_answer_chars", "latency_p50_ms", "latency_p95_ms")


def _fmt(value: float | None, name: str = "") -> str:
    if value is None:
        return "–"
    if name in ("questions", "duplicate_quotes"):
        return str(int(value))
    return f"{value:.1f}" if name in _PLAIN else f"{value:.3f}"


def explain(r: QuestionResult) -> dict[str, Any]:
    return {
        "id": r.item.id,
        "split": r.item.split,
        "kind": r.item.kind,
        "question": r.item.question,
        "history": r.item.history,
        "expected": {
            "answerable": r.item.answerable, "sources": r.item.expected_sources, "phrases": r.item.expected_phrases,
            "sections": r.item.expected_sections,
        },
        "got": {
            "answerable": r.answer.answerable, "answer": r.answer.answer,
            "sources": [c.source for c in r.answer.citations], "retrieved": r.ranked_sources[:5],
        },
        "problems": r.problems,
    }  # fmt: skip


def to_json(run: EvalRun, failures: list[str], baseline: EvalRun | None = None) -> dict[str, Any]:
    report: dict[str, Any] = {
        "target": run.target,
        "gated_split": "test",
        "metrics": {name: run.split(name).metrics for name in SPLITS},
        "by": {name: run.split(name).breakdown for name in SPLITS},
        "gate_failures": failures,
        "failing_questions": [explain(r) for r in run.failing()],
    }
    if baseline is not None:
        report["baseline"] = {
            "target": baseline.target,
            "metrics": {n: baseline.split(n).metrics for n in SPLITS},
        }
    return report


def print_table(console: Console, run: EvalRun, baseline: EvalRun | None = None) -> None:
    table = Table(title=f"{run.target}: {len(run.results)} questions (the gate reads test)")
    table.add_column("metric")
    for name in SPLITS:
        table.add_column(name, justify="right")
    if baseline is not None:
        table.add_column(f"{baseline.target} (test)", justify="right")
    splits = [run.split(name).metrics for name in SPLITS]
    base = baseline.split("test").metrics if baseline is not None else None
    for name in SHOWN:
        row = [name, *(_fmt(m[name], name) for m in splits)]
        if base is not None:
            row.append(_fmt(base[name], name))
        table.add_row(*row)
    console.print(table)
    for group, rows in run.split("test").breakdown.items():
        if group == "source":
            continue
        sub = Table(title=f"test split by {group}")
        sub.add_column(group)
        for name in BY:
            sub.add_column(name, justify="right")
        for key, values in rows.items():
            sub.add_row(key, *(_fmt(values[n], n) for n in BY))
        console.print(sub)


def to_markdown(report: dict[str, Any]) -> str:
    base = report.get("baseline", {}).get("metrics", {}).get("test")
    head = "| metric | dev | test |" + (" baseline (test) |" if base else "")
    lines = [f"# Eval report: {report['target']}", "", head, "|---|---|---|" + ("---|" if base else "")]
    for name in SHOWN:
        row = f"| {name} | " + " | ".join(_fmt(report["metrics"][s][name], name) for s in SPLITS) + " |"
        if base:
            row += f" {_fmt(base[name], name)} |"
        lines.append(row)
    lines += ["", "## Gate (test split)", ""] + (
        [f"- {f}" for f in report["gate_failures"]] or ["All thresholds met."]
    )
    for split in SPLITS:
        for group, rows in report["by"][split].items():
            lines += [
                "",
                f"## {split} split by {group}",
                "",
                "| | " + " | ".join(BY) + " |",
                "|---" * (len(BY) + 1) + "|",
            ]
            for key, v in rows.items():
                lines.append(f"| {key} | " + " | ".join(_fmt(v[n], n) for n in BY) + " |")
    lines += ["", "## Questions with a problem", ""]
    for q in report["failing_questions"]:
        lines.append(
            f"- **{q['id']}** ({q['split']}, {q['kind']}) {q['question']} — {'; '.join(q['problems'])}"
        )
        lines.append(f"  - expected: {q['expected']['sources'] or 'refusal'} {q['expected']['phrases']}")
        lines.append(f"  - got: {q['got']['answer'][:200]!r}")
    return "\n".join(lines) + "\n"
