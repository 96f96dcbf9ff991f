"""Admin console benchmark: does a re-ingest started from /admin slow answering down?

One real server (uvicorn on loopback, the real e5 embedder) over a copy of kb/. Rows, in one run:
  * POST /api/ask while nothing else runs (the baseline);
  * POST /api/ask while a console re-ingest embeds new documents (uploaded through the console first),
    from the first question after it starts to its end;
and the re-ingest itself: its time, chunks embedded, and whether the server switched to the new version.

Usage: python bench/admin_bench.py [--rounds 3] [--copies 2]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from crmkb.bot.service import Bot
from crmkb.core.settings import ServerSettings, get_settings
from crmkb.ingest.pipeline import ensure_index
from crmkb.web.admin_auth import CSRF_HEADER
from crmkb.web.app import create_app
from crmkb.web.loopback import serving

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-admin-token-0123456789"
QUESTIONS = [
    "项目失败后应该先做什么?", "CRM项目团队应该包括哪些人?", "实施顾问离开前企业要做好哪些收尾工作?",
    "项目预算中软件成本占多少?", "业务范围不断扩大有什么风险?", "What risks come up in CRM implementation?",
    "没有业务流程能实施CRM吗?", "CRM实施包括哪些阶段?",
]  # fmt: skip


def ask(client: httpx.Client, question: str) -> float:
    began = time.perf_counter()
    response = client.post("/api/ask", json={"question": question})
    response.raise_for_status()
    return (time.perf_counter() - began) * 1000


def row(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{label:<34} {len(times):>5} {statistics.median(times):>9.1f} {p95:>9.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="Baseline passes over the questions.")
    parser.add_argument("--copies", type=int, default=2, help="Edited copies of each article to upload.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kb = Path(tmp) / "kb"
        shutil.copytree(ROOT / "kb", kb)
        settings = get_settings(data_dir=Path(tmp) / "data", kb_dir=kb)
        server = ServerSettings.model_validate({"rate_limit": 0, "admin_token": SecretStr(TOKEN)})
        settings = settings.model_copy(update={"server": server})
        bot = Bot(settings)
        ensure_index(settings, bot.embeddings, bot.index_store)
        bot.load()
        with serving(create_app(settings, bot=bot)) as url, httpx.Client(base_url=url, timeout=120) as client:
            csrf = client.post("/api/admin/session", json={"token": TOKEN}).json()["csrf_token"]
            headers = {CSRF_HEADER: csrf}
            for question in QUESTIONS:  # warm-up
                ask(client, question)
            idle = [ask(client, q) for _ in range(args.rounds) for q in QUESTIONS]

            for article in sorted((ROOT / "kb").glob("*.txt")):
                for n in range(args.copies):
                    lines = article.read_text(encoding="utf-8").splitlines()
                    text = "\n".join(f"{line}(副本{n})" if line.strip() else line for line in lines)
                    name = f"copy{n}_{article.name}"
                    client.put(
                        f"/admin/documents/upload/{name}", content=text.encode(), headers=headers
                    ).raise_for_status()
            before = bot.served_version
            client.post("/api/admin/documents/ingest", headers=headers).raise_for_status()
            busy: list[float] = []
            job: dict[str, Any] = {"state": "running"}
            while job["state"] == "running":
                busy.append(ask(client, QUESTIONS[len(busy) % len(QUESTIONS)]))
                job = client.get("/api/admin/documents/ingest").json()["job"]
            report: dict[str, Any] = job["report"] or {}

    print(f"{'POST /api/ask':<34} {'n':>5} {'p50 ms':>9} {'p95 ms':>9}")
    print(row("idle (baseline)", idle))
    print(row("during a console re-ingest", busy))
    print(
        f"\nre-ingest: {job['state']} in {job['seconds']} s, {report.get('embedded')} chunks and "
        f"{report.get('sentences_embedded')} sentences embedded; served {before} -> {job['serving']}"
    )


if __name__ == "__main__":
    main()
