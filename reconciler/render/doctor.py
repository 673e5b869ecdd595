"""``reconciler doctor``'s report: text for a person (one line a finding, escaped whole), JSON for a bug report
(``format_version``; no secret: the client masks its token in every message, and the run's streams mask the
rest)."""

from __future__ import annotations

import json

from reconciler.doctor import FORMAT_VERSION, Diagnosis
from reconciler.streams import Writer
from reconciler.text import counted, printable

_WIDTH = max(len("unknown tool types"), len("lookup transcriber_providers")) + 2


def render_doctor_text(diagnosis: Diagnosis, stream: Writer) -> None:
    stream.write(f"reconciler doctor: {printable(diagnosis.api_url)}\n")
    for finding in diagnosis.findings:
        stream.write(printable(f"  {finding.status:<5} {finding.check:<{_WIDTH}}{finding.detail}") + "\n")
    notes = sum(f.status == "note" for f in diagnosis.findings)
    if diagnosis.ok:
        said = f" ({counted(notes, 'note')} above)" if notes else ""
        stream.write(f"Doctor: this version can plan and apply against this account{said}.\n")
        return
    failed = ", ".join(f.check for f in diagnosis.findings if f.status == "fail")
    stream.write(f"Doctor: this account cannot be used yet: {printable(failed)} failed.\n")


def render_doctor_json(diagnosis: Diagnosis, stream: Writer) -> None:
    data = {
        "format_version": FORMAT_VERSION,
        "api_url": diagnosis.api_url,
        "ok": diagnosis.ok,
        "findings": [
            {"check": f.check, "status": f.status, "detail": f.detail, "data": f.data}
            for f in diagnosis.findings
        ],
    }
    json.dump(data, stream, indent=2, ensure_ascii=False)
    stream.write("\n")
