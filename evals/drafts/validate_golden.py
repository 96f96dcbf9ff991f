"""Check a golden JSONL file written for crmkb. Usage: /work/main/.venv/bin/python validate_golden.py FILE"""

import json, re, sys

sys.path.insert(0, "/work/main")
from ingest.normalise import normalise

KINDS = {"what", "how", "why", "yesno", "list", "figure", "scenario", "multidoc", "followup", "nearmiss"}
LANGS = {"zh-Hans", "zh-Hant", "en"}
SECTIONS = {}
for line in open("/work/scratch/sections.txt"):
    src, sec, _ = [p.strip() for p in line.split("|", 2)]
    SECTIONS.setdefault(src, set()).add(sec)
TEXT = {s: open(f"/work/scratch/cleaned/{s}.plain").read() for s in SECTIONS}


def comparable(t):
    return re.sub(r"\s+", "", normalise(t))


problems = 0
ids = set()
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    if not line.strip():
        continue

    def bad(msg):
        global problems
        problems += 1
        print(f"line {n}: {msg}")

    try:
        item = json.loads(line)
    except json.JSONDecodeError as e:
        bad(f"not JSON: {e}")
        continue
    allowed = {
        "id",
        "question",
        "lang",
        "kind",
        "style",
        "history",
        "expected_sources",
        "expected_sections",
        "expected_phrases",
        "list_items",
        "answerable",
    }
    extra = set(item) - allowed
    if extra:
        bad(f"unknown fields {extra}")
    if item.get("id") in ids:
        bad("duplicate id")
    ids.add(item.get("id"))
    if item.get("lang") not in LANGS:
        bad("lang")
    if item.get("kind") not in KINDS:
        bad(f"kind {item.get('kind')}")
    if not item.get("question"):
        bad("no question")
    if item.get("kind") == "followup" and not item.get("history"):
        bad("followup without history")
    ans = item.get("answerable")
    if not isinstance(ans, bool):
        bad("answerable must be true/false")
        continue
    srcs = item.get("expected_sources", [])
    if not ans:
        if srcs or item.get("expected_phrases") or item.get("expected_sections") or item.get("list_items"):
            bad("unanswerable items have no sources/sections/phrases/list_items")
        continue
    if not srcs or not item.get("expected_phrases") or not item.get("expected_sections"):
        bad("answerable needs expected_sources, expected_sections, expected_phrases")
    for s in srcs:
        if s not in SECTIONS:
            bad(f"unknown source {s}")
    for sec in item.get("expected_sections", []):
        src, _, name = sec.partition("#")
        if src not in srcs:
            bad(f"section {sec} not in an expected source")
        elif name not in SECTIONS.get(src, ()):
            bad(f"unknown section {sec!r}")
    joined = "".join(comparable(TEXT[s]) for s in srcs if s in TEXT)
    for p in item.get("expected_phrases", []) + item.get("list_items", []):
        if comparable(p) not in joined:
            bad(f"phrase not verbatim in the expected sources: {p!r}")
print(f"{len(ids)} items, {problems} problems")
sys.exit(1 if problems else 0)
