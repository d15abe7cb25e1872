"""JUnit XML, as CI systems read it: one test case per item x trial."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from xml.etree import ElementTree as ET

from gitevals.formats import RunManifest, score_passed

__all__ = ["junit_xml"]

_SNIPPET = 2000


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "..."


def _case(manifest: RunManifest, record: Mapping[str, Any], trials: int) -> ET.Element:
    # trials counted from 1, as every other output counts them
    name = str(record["item_id"]) + (f" [trial {record.get('trial', 0) + 1}]" if trials > 1 else "")
    case = ET.Element("testcase", classname=f"gitevals.{manifest.eval}", name=name,
                      time=f"{(record.get('latency_ms') or 0) / 1000:.3f}")
    error = record.get("error")
    if error is not None:
        node = ET.SubElement(case, "error", message=str(error.get("message", ""))[:500], type=str(error.get("type", "error")))
        node.text = f"input: {_text(record.get('input'))}\n" + (f"stderr:\n{error['stderr']}" if error.get("stderr") else "")
        return case
    failing = {n: s for n, s in (record.get("scores") or {}).items() if not score_passed(s)}
    if failing:
        parts = []
        for name_, score in failing.items():
            if score.get("error"):
                parts.append(f"{name_}: scorer failed: {score['error'].get('message')}")
            else:
                parts.append(f"{name_} = {score.get('value')}" + (f" ({score['reason']})" if score.get("reason") else ""))
        node = ET.SubElement(case, "failure", message="; ".join(parts)[:500], type="ScoreBelowThreshold")
        node.text = "\n".join([*parts, f"input: {_text(record.get('input'))}", f"expected: {_text(record.get('expected'))}",
                               f"output: {_text(record.get('output'))}"])
    return case


def junit_xml(manifest: RunManifest, records: Iterable[Mapping[str, Any]]) -> str:
    """The run as a JUnit XML document (a `testsuites` root with one `testsuite`)."""
    trials = int(manifest.config.get("trials") or 1)
    cases = [_case(manifest, r, trials) for r in sorted(records, key=lambda r: (str(r["item_id"]), r.get("trial", 0)))]
    failures = sum(1 for c in cases if c.find("failure") is not None)
    errors = sum(1 for c in cases if c.find("error") is not None)
    duration = f"{manifest.summary.duration_s:.3f}" if manifest.summary else "0"
    root = ET.Element("testsuites", name="gitevals", tests=str(len(cases)), failures=str(failures), errors=str(errors), time=duration)
    suite = ET.SubElement(root, "testsuite", name=manifest.eval, tests=str(len(cases)), failures=str(failures),
                          errors=str(errors), skipped="0", time=duration, timestamp=manifest.started_at[:19])
    properties = ET.SubElement(suite, "properties")
    for key, value in (("run", manifest.id), ("dataset", manifest.dataset or ""),
                       ("commit", manifest.git.commit if manifest.git and manifest.git.commit else "")):
        ET.SubElement(properties, "property", name=key, value=value)
    suite.extend(cases)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
