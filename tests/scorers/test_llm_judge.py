"""The llm_judge scorer against a real OpenAI-compatible judge server on 127.0.0.1."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from click.testing import CliRunner

from gitevals import ConfigError, run_evals
from gitevals.cli import cli
from gitevals.runs import list_runs, read_results
from gitevals.scorers import ScorerError, resolve_scorer
from gitevals.scorers._judge import parse_judgement
from tests.conftest import ProjectDir
from tests.http_fakes import FakeServer, Request

KEY = "judge-key-never-stored"
RUBRIC = "The answer states the refund window correctly and briefly."

ANSWERS = {
    "30 days": 'Here is my grade:\n```json\n{"score": 0.9, "reasoning": "States the 30-day window."}\n```',
    "bare": "0.75",
    "ten-scale": '{"score": 8, "reasoning": "Pretty good."}',
    "garbage": "I would rate this highly!",
}


def prompt_of(request: Request) -> str:
    return request.body["messages"][-1]["content"]


class Judge:
    """Grades from the OUTPUT in the prompt; `flaky` gets a 503 first, `busy` always a 429."""

    def __init__(self) -> None:
        self.flaky_calls = 0

    def __call__(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return 401, {"error": {"message": "invalid api key"}}, {}
        output = prompt_of(request).split("OUTPUT:\n", 1)[1].split("\n\n", 1)[0]
        if output == "flaky":
            self.flaky_calls += 1
            if self.flaky_calls == 1:
                return 503, {"error": {"message": "overloaded"}}, {"Retry-After": "0"}
        if output == "busy":
            return 429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"}
        content = ANSWERS.get(output, '{"score": 1, "reasoning": "fine"}')
        return 200, {"id": "x", "object": "chat.completion", "model": request.body["model"],
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                  "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}}, {}


@pytest.fixture
def judge(serve, monkeypatch) -> FakeServer:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GE_JUDGE_KEY", KEY)
    return serve(Judge())


def echo(text: str) -> str:
    return text


def judge_spec(url: str, **extra: Any) -> dict[str, Any]:
    return {"type": "llm_judge", "name": "quality", "rubric": RUBRIC, "base_url": url, "model": "judge-1",
            "api_key_env": "GE_JUDGE_KEY", **extra}


def test_scores_reasons_and_unusable_answers(judge: FakeServer) -> None:
    judge_url = judge.url + "/v1"
    data = [
        {"id": "good", "input": "30 days", "expected": "30 days"},
        {"id": "bare", "input": "bare"},
        {"id": "ten", "input": "ten-scale"},
        {"id": "garbage", "input": "garbage"},
        {"id": "flaky", "input": "flaky"},
    ]
    result = run_evals(echo, data, [judge_spec(judge_url, retries=2)], concurrency=5)
    scores = {i.item.id: i.scores["quality"] for i in result.items}
    assert scores["good"] == {"value": 0.9, "passed": True, "reason": "States the 30-day window.",
                              "details": {"judge_model": "judge-1", "judge_tokens": 60}}
    assert scores["bare"]["value"] == 0.75 and scores["bare"]["reason"] is None
    assert scores["ten"]["value"] is None and scores["ten"]["error"] == {
        "type": "ScorerError",
        "message": "the judge's score 8 is outside [0, 1]: '{\"score\": 8, \"reasoning\": \"Pretty good.\"}'",
    }
    assert scores["garbage"]["value"] is None
    assert scores["garbage"]["error"]["message"] == (
        "the judge's answer holds no JSON object with a score: 'I would rate this highly!'"
    )
    assert scores["flaky"]["value"] == 1.0  # a 503, then an answer
    assert sum("OUTPUT:\nflaky" in prompt_of(r) for r in judge.requests) == 2
    summary = result.summary.scores["quality"]
    assert summary.n == 3 and summary.errors == 2 and summary.mean == pytest.approx((0.9 + 0.75 + 1.0) / 3)
    good = next(r.body for r in judge.requests if "OUTPUT:\n30 days" in prompt_of(r))
    assert good["model"] == "judge-1" and good["temperature"] == 0
    assert good["response_format"] == {"type": "json_object"}
    prompt = good["messages"][-1]["content"]
    assert prompt == f"RUBRIC:\n{RUBRIC}\n\nINPUT:\n30 days\n\nOUTPUT:\n30 days\n\nEXPECTED:\n30 days"
    bare = next(r.body for r in judge.requests if "OUTPUT:\nbare" in prompt_of(r))
    assert "EXPECTED" not in bare["messages"][-1]["content"]


def test_http_failures_are_scorer_errors_never_zero(judge: FakeServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    judge_url = judge.url + "/v1"
    [busy] = run_evals(echo, [{"input": "busy"}], [judge_spec(judge_url, retries=1)]).items
    assert busy.scores["quality"]["value"] is None
    assert busy.scores["quality"]["error"]["message"].startswith(
        f"the judge request to {judge_url}/chat/completions failed after 2 tries: HTTP 429 Too Many Requests"
    )
    monkeypatch.setenv("GE_JUDGE_KEY", "wrong")
    before = len(judge.requests)
    [denied] = run_evals(echo, [{"input": "x"}], [judge_spec(judge_url, retries=3)]).items
    assert len(judge.requests) == before + 1  # a 401 is not tried again
    assert "HTTP 401 Unauthorized" in denied.scores["quality"]["error"]["message"]
    assert "invalid api key" in denied.scores["quality"]["error"]["message"]
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    [refused] = run_evals(echo, [{"input": "x"}], [judge_spec(f"http://127.0.0.1:{port}/v1", retries=0)]).items
    assert refused.error is None and refused.scores["quality"]["value"] is None
    assert refused.scores["quality"]["error"]["type"] == "ScorerError"
    assert f"the judge request to http://127.0.0.1:{port}/v1/chat/completions failed" in (
        refused.scores["quality"]["error"]["message"]
    )


def test_options_are_checked_when_the_scorer_is_made(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("GE_NO_KEY", raising=False)
    with pytest.raises(ConfigError, match="GE_NO_KEY, which is not set"):
        resolve_scorer({"type": "llm_judge", "rubric": RUBRIC, "api_key_env": "GE_NO_KEY"})
    with pytest.raises(ConfigError, match="scorer 'llm_judge' needs the option 'rubric'"):
        resolve_scorer({"type": "llm_judge", "api_key_env": None})
    with pytest.raises(ConfigError, match="llm_judge needs a `rubric`"):
        resolve_scorer({"type": "llm_judge", "rubric": "  ", "api_key_env": None})
    with pytest.raises(ConfigError, match="has no option 'scale'"):
        resolve_scorer({"type": "llm_judge", "rubric": RUBRIC, "api_key_env": None, "scale": 10})


def test_no_key_for_a_local_judge(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(lambda request: (200, {"choices": [{"message": {"content": '{"score": 0.5}'}}]}, {}))
    spec = {"type": "llm_judge", "rubric": RUBRIC, "base_url": server.url + "/v1", "api_key_env": None}
    [item] = run_evals(echo, [{"input": "x"}], [spec]).items
    assert item.scores["llm_judge"]["value"] == 0.5 and item.scores["llm_judge"]["passed"] is True
    assert "authorization" not in server.requests[0].headers
    assert server.requests[0].path == "/v1/chat/completions"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"score": 0.4, "reasoning": "short"}', (0.4, "short")),
        ('Thinking {not json}; then {"reasoning": "ok", "score": 0}', (0.0, "ok")),
        ('{"note": {"x": 1}, "score": "0.6", "reason": "as text"}', (0.6, "as text")),
        ("  1  ", (1.0, None)),
    ],
)
def test_parse_judgement_reads_robustly(text: str, expected: tuple[float, str | None]) -> None:
    assert parse_judgement(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"score": 7}', "score 7 is outside [0, 1]"),
        ("-0.1", "score -0.1 is outside [0, 1]"),
        ('{"score": true}', "score is not a number"),
        ('{"reasoning": "forgot the score"}', "holds no JSON object with a score"),
        ("Score: 0.8", "holds no JSON object with a score: 'Score: 0.8'"),
    ],
)
def test_parse_judgement_never_guesses(text: str, message: str) -> None:
    with pytest.raises(ScorerError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        parse_judgement(text)


def test_gitevals_run_with_a_judge_gate(project: ProjectDir, judge: FakeServer) -> None:
    judge_url = judge.url + "/v1"
    project.write("echo_target.py", "def run(text):\n    return text\n")
    project.write("datasets/d.yaml", """
        items:
          - {id: good, input: 30 days, expected: 30 days}
          - {id: bare, input: bare}
          - {id: ten, input: ten-scale}
        """)
    project.write("evals/judged.yaml", f"""
        dataset: d
        target: echo_target:run
        scorers:
          - type: llm_judge
            name: quality
            rubric: {RUBRIC}
            base_url: {judge_url}
            model: judge-1
            api_key_env: GE_JUDGE_KEY
            threshold: 0.8
        thresholds: {{quality: 0.8}}
        """)
    project.git_init()
    project.commit()
    outcome = CliRunner().invoke(cli, ["-C", str(project.root), "run", "judged"], catch_exceptions=False)
    # mean (0.9 + 0.75) / 2 passes the 0.8 gate; the judge's unusable answer on `ten` fails the run
    assert outcome.exit_code == 1, outcome.output
    assert "pass  quality  mean 0.82, needs >= 0.80" in outcome.output
    assert "FAIL  quality  errors 1, needs <= 0" in outcome.output
    [run] = list_runs(project.root / "runs", "judged")
    records = {r["item_id"]: r["scores"]["quality"] for r in read_results(run.path)}
    assert records["good"]["passed"] is True and records["bare"]["passed"] is False
    assert records["ten"]["error"]["type"] == "ScorerError"
    assert run.manifest.summary.scores["quality"].mean == pytest.approx(0.825)
    stored = (run.path / "run.json").read_text() + (run.path / "results.jsonl").read_text()
    assert KEY not in stored and "GE_JUDGE_KEY" in stored
