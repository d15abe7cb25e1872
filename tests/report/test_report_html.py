"""`gitevals report RUN --html FILE`: one self-contained page, read back with the stdlib HTML parser."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gitevals.formats import RunManifest
from tests.conftest import ProjectDir, git, invoke

EXE = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"
XSS = "<script>alert(1)</script>"

AGENT = '''
import json, pathlib

def answer(question):
    answers = json.loads((pathlib.Path(__file__).parent / "answers.json").read_text())
    if question == "explode":
        raise RuntimeError("model unavailable")
    return answers.get(question, "no idea")
'''

VOID = {"meta", "input", "br", "hr", "img", "link", "source", "area", "base", "col", "embed", "wbr"}


class Element:
    def __init__(self, tag: str, attrs: dict[str, str], ancestors: list[Element]) -> None:
        self.tag, self.attrs, self.ancestors = tag, attrs, ancestors
        self.text = ""

    def within(self, tag: str, **attrs: str) -> bool:
        return any(a.tag == tag and all(a.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
                   for a in self.ancestors)


class Page(HTMLParser):
    """Every element with its attributes, its ancestors and the text inside it."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []
        self.feed(text)
        self.close()
        assert not self.stack, f"unclosed elements: {[e.tag for e in self.stack]}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, list(self.stack))
        self.elements.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}, list(self.stack)))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1].tag == tag, f"</{tag}> closes {self.stack[-1].tag if self.stack else None}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.text += data

    def find(self, tag: str, **attrs: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag
                and all(e.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def one(self, tag: str, **attrs: str) -> Element:
        [found] = self.find(tag, **attrs)
        return found



class Evals:
    """A project whose agent's answers (answers.json) and dataset change from commit to commit."""

    def __init__(self, project: ProjectDir) -> None:
        self.project = project
        self.items = {"greet": ("hello", "hi there"), "xss": ("show html", XSS), "sum": ("2+2", "4"),
                      "boom": ("explode", "never")}
        self.answers = {"hello": "hi there", "show html": XSS, "2+2": "4"}
        project.write("agent_mod.py", AGENT)
        project.write("evals/qa.yaml", "dataset: qa\ntarget: agent_mod:answer\n"
                      "scorers: [exact_match, {type: contains, name: says-it}]\nthresholds: {exact_match: 0.5}\n")
        self.save()
        project.git_init()

    def save(self) -> None:
        lines = ["items:"]
        for item_id, (question, expected) in self.items.items():
            lines += [f"  - id: {item_id}", f"    input: {json.dumps(question)}", f"    expected: {json.dumps(expected)}"]
        self.project.write("datasets/qa.yaml", "\n".join(lines) + "\n")
        self.project.write("answers.json", json.dumps(self.answers))

    def commit(self, message: str) -> str:
        self.save()
        return self.project.commit(message)

    def run(self) -> str:
        before = set(self.runs())
        invoke(self.project, "run", "qa")
        [new] = set(self.runs()) - before
        return new

    def runs(self) -> list[str]:
        folder = self.project.root / "runs" / "qa"
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []

    def report(self, run: str, *args: str) -> tuple[str, Page]:
        path = self.project.root / "report.html"
        result = invoke(self.project, "report", run, "--html", str(path), *args)
        assert result.exit_code == 0, result.output
        text = path.read_text(encoding="utf-8")
        return text, Page(text)

    def manifest(self, run: str) -> RunManifest:
        return RunManifest.model_validate_json((self.project.root / "runs" / "qa" / run / "run.json").read_text())


@pytest.fixture
def evals(project: ProjectDir) -> Evals:
    (project.root / ".gitignore").write_text("runs/\nreport.html\n")
    return Evals(project)


def test_the_page_is_self_contained_and_escapes_outputs(evals: Evals) -> None:
    evals.commit("first")
    run = evals.run()
    text, page = evals.report(run)
    # nothing comes from the network: no resource references at all, no http(s) anywhere
    for element in page.elements:
        for name in ("src", "href", "srcset", "action", "data"):
            assert name not in element.attrs, (element.tag, element.attrs)
    assert not page.find("link") and not page.find("iframe") and not page.find("img")
    assert "http://" not in text and "https://" not in text and "@import" not in text and "url(" not in text
    # one script: ours, allowed by its hash in the Content-Security-Policy (so no injected script could run)
    [script] = page.find("script")
    csp = page.one("meta", http_equiv="Content-Security-Policy").attrs["content"]
    digest = base64.b64encode(hashlib.sha256(script.text.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp
    # the model's output is shown as text, never as markup
    assert XSS not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    xss_row = page.one("tr", data_item="xss")
    assert XSS in xss_row.text and xss_row.attrs["data-status"] == "passed"

    header = page.one("header", id="run")
    manifest = evals.manifest(run)
    assert "qa" in page.one("h1").text and run in header.text and manifest.git is not None
    assert manifest.git.commit[:12] in header.text and "completed" in header.text
    assert [tr.attrs["data-scorer"] for tr in page.find("tr") if tr.within("section", id="summary")
            and "data-scorer" in tr.attrs] == ["exact_match", "says-it"]
    assert page.one("div", id="gates").text == ("Gatespass exact_match mean 1.00, needs >= 0.50"  # as the terminal words it
                                                "FAIL target errors 1, needs <= 0 (allow some with allowed_errors)")

    # one histogram per scorer; its bars count every score, in ten bins
    for scorer in ("exact_match", "says-it"):
        page.one("svg", **{"class": "histogram", "data_scorer": scorer})
        bars = [e for e in page.find("rect") if e.within("svg", data_scorer=scorer)]
        assert len(bars) == 10
        assert sum(int(b.attrs["data-count"]) for b in bars) == 3  # `boom` errored: no score
        assert int(bars[-1].attrs["data-count"]) == 3  # every answer right: all in the top bin

    # the item table: one row per result, with its status, and the filter controls
    rows = [tr for tr in page.find("tr") if tr.within("table", id="items") and "data-status" in tr.attrs]
    assert sorted((tr.attrs["data-item"], tr.attrs["data-status"]) for tr in rows) == [
        ("boom", "errored"), ("greet", "passed"), ("sum", "passed"), ("xss", "passed")]
    assert "RuntimeError" in page.one("tr", data_item="boom").text
    assert page.one("input", id="filter").attrs["type"] == "search"
    assert [o.attrs["value"] for o in page.find("option") if o.within("select", id="status")] == [
        "all", "failing", "errored", "needs_review", "passed"]


def test_history_follows_git_history_not_the_clock(evals: Evals) -> None:
    first = evals.commit("first")
    r1 = evals.run()
    evals.answers["2+2"] = "5"
    evals.commit("second: a worse model")
    r2 = evals.run()
    git(evals.project.root, "checkout", "--quiet", first)
    r3 = evals.run()  # made last, at the first commit: it comes before r2 in git order
    git(evals.project.root, "checkout", "--quiet", "-b", "side")
    evals.answers["hello"] = "bye"
    evals.commit("side branch")
    side = evals.run()  # on another branch: not in main's history
    git(evals.project.root, "checkout", "--quiet", "main")
    evals.answers["2+2"] = "4"
    evals.commit("third: fixed")
    r4 = evals.run()

    _, page = evals.report(r4)
    for scorer in ("exact_match", "says-it"):
        page.one("svg", **{"class": "trend-chart", "data_scorer": scorer})
        points = [c for c in page.find("circle") if c.within("svg", data_scorer=scorer)]
        assert [p.attrs["data-run"] for p in points] == [r1, r3, r2, r4]
        assert points[-1].attrs["class"] == "point current"
        means = [evals.manifest(r).summary.scores[scorer].mean for r in (r1, r3, r2, r4)]  # type: ignore[union-attr]
        assert [float(p.attrs["data-mean"]) for p in points] == pytest.approx(means)
    assert side not in page.one("section", id="history").text
    # an older run's history stops at that run
    _, older = evals.report(r2)
    assert [c.attrs["data-run"] for c in older.find("circle") if c.within("svg", data_scorer="exact_match")] == [r1, r3, r2]


def test_baseline_comparison_shows_warnings_verdicts_and_regressions(evals: Evals) -> None:
    evals.items.update({f"n{i}": (f"number {i}", str(i)) for i in range(12)})
    evals.answers.update({f"number {i}": str(i) for i in range(12)})
    evals.commit("baseline")
    baseline = evals.run()
    for i in range(10):
        evals.answers[f"number {i}"] = "<b>wrong</b>"
    evals.items["sum"] = ("2+2", "four")
    evals.commit("worse answers; sum expects words")
    run = evals.run()
    _, page = evals.report(run, "--baseline", "HEAD~1")
    section = page.one("section", id="comparison")
    assert "REGRESSION" in section.text and baseline in section.text
    [warning] = page.find("li", data_kind="dataset_version")
    assert "1 expected changed (sum)" in warning.text and "worse answers; sum expects words" in warning.text
    verdicts = {tr.attrs["data-scorer"]: tr for tr in page.find("tr")
                if tr.within("table", **{"class": "verdicts"}) and "data-scorer" in tr.attrs}
    assert set(verdicts) == {"exact_match", "says-it"}
    assert "regressed" in verdicts["exact_match"].text
    regressed = [tr.attrs["data-item"] for tr in page.find("tr")
                 if tr.within("table", **{"class": "regressions"}) and "data-item" in tr.attrs]
    assert sorted(set(regressed)) == [f"n{i}" for i in range(10)]
    assert all("<b>wrong</b>" in tr.text for tr in page.find("tr", data_item="n0"))  # escaped, shown as text
    assert not page.find("b")
    # without --baseline there is no comparison section
    _, plain = evals.report(run)
    assert not plain.find("section", id="comparison")
    missing = invoke(evals.project, "report", run, "--html", "x.html", "--baseline", "no-such-ref")
    assert missing.exit_code == 2 and "'no-such-ref' is not a commit" in missing.output


def test_human_reviews_and_results_waiting_for_one(evals: Evals) -> None:
    evals.project.write("evals/manual.yaml", "dataset: qa\ntarget: agent_mod:answer\n")
    evals.commit("first")
    invoke(evals.project, "run", "manual")
    path = evals.project.root / "manual.html"
    assert invoke(evals.project, "report", "manual", "--html", str(path)).exit_code == 0
    page = Page(path.read_text())
    statuses = {tr.attrs["data-item"]: tr.attrs["data-status"] for tr in page.find("tr") if "data-status" in tr.attrs}
    assert statuses == {"boom": "errored", "greet": "needs_review", "sum": "needs_review", "xss": "needs_review"}
    assert "3 results need review" in page.one("section", id="summary").text
    done = subprocess.run([EXE, "-C", str(evals.project.root), "review", "manual", "--reviewer", "Ann"],
                          input="p\nc rude\nf\n0.6\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert invoke(evals.project, "report", "manual", "--html", str(path)).exit_code == 0
    page = Page(path.read_text())
    statuses = {tr.attrs["data-item"]: tr.attrs["data-status"] for tr in page.find("tr") if "data-status" in tr.attrs}
    assert statuses == {"boom": "errored", "greet": "passed", "sum": "failed", "xss": "passed"}
    assert "rude" in page.one("tr", data_item="sum").text and "by Ann" in page.one("tr", data_item="sum").text
    [human] = [tr for tr in page.find("tr") if tr.attrs.get("data-scorer") == "human" and tr.within("section", id="summary")]
    assert "0.533" in human.text  # (1 + 0 + 0.6) / 3
    page.one("svg", **{"class": "histogram", "data_scorer": "human"})


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the page's script")
def test_the_filter_script_hides_rows(evals: Evals, tmp_path: Path) -> None:
    evals.answers["2+2"] = "5"
    evals.commit("first")
    _, page = evals.report(evals.run())
    [script] = page.find("script")
    rows = [{"status": tr.attrs["data-status"], "text": tr.text} for tr in page.find("tr") if "data-status" in tr.attrs]
    harness = tmp_path / "harness.js"
    harness.write_text(FAKE_DOM.replace("ROWS", json.dumps(rows)) + script.text + CHECKS)
    done = subprocess.run(["node", str(harness)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    count = shown.pop("count")
    ids = [tr.attrs["data-item"] for tr in page.find("tr") if "data-status" in tr.attrs]
    visible = {case: sorted(i for i, hidden in zip(ids, flags, strict=True) if not hidden) for case, flags in shown.items()}
    assert visible == {"start": ["boom", "greet", "sum", "xss"], "failing": ["boom", "sum"],
                       "errored": ["boom"], "text": ["greet"], "failing+text": []}
    assert count == "0 of 4 shown"


FAKE_DOM = """
var listeners = {};
function node(id) { return { id: id, value: "", textContent: "",
  addEventListener: function (kind, f) { listeners[id + ":" + kind] = f; } }; }
var elements = { filter: node("filter"), status: node("status"), shown: node("shown") };
elements.status.value = "all";
var rows = ROWS.map(function (r) { return { hidden: false, textContent: r.text,
  getAttribute: function (name) { return name === "data-status" ? r.status : null; } }; });
var document = { getElementById: function (id) { return elements[id]; },
  querySelectorAll: function (selector) { return rows; } };
"""

CHECKS = """
var out = {};
function flags() { return rows.map(function (r) { return r.hidden; }); }
out.start = flags();
elements.status.value = "failing"; listeners["status:change"](); out.failing = flags();
elements.status.value = "errored"; listeners["status:change"](); out.errored = flags();
elements.status.value = "all"; elements.filter.value = "HI THERE"; listeners["filter:input"](); out.text = flags();
elements.status.value = "failing"; listeners["status:change"](); out["failing+text"] = flags();
out.count = elements.shown.textContent;
console.log(JSON.stringify(out));
"""
