"""The last ingest's report, kept in the data dir: what the admin console's Documents page shows about the
files an ingest skipped and why, whichever ran it (``crmkb ingest`` or the console's re-ingest)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crmkb.core.files import write_atomically

LAST_REPORT = "last_ingest.json"


def save_report(data_dir: Path, report: dict[str, Any], by: str) -> None:
    """Keep ``report`` (``IngestReport.to_json()``), noting when it ended and what ran it ("cli", "admin")."""
    saved = {"finished_at": datetime.now(UTC).isoformat(timespec="seconds"), "by": by, **report}
    write_atomically(
        data_dir / LAST_REPORT, lambda h: h.write(json.dumps(saved, ensure_ascii=False, indent=1))
    )


def last_report(data_dir: Path) -> dict[str, Any] | None:
    """The last saved report; ``None`` before the first (or when it cannot be read)."""
    try:
        loaded: dict[str, Any] = json.loads((data_dir / LAST_REPORT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded
