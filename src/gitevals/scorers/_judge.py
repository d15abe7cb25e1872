"""`llm_judge`: a model grades the output against a rubric (OpenAI-compatible chat completions).

The judge is asked for `{"score": <0..1>, "reasoning": "..."}`. Its answer is
read robustly (the first JSON object in the text, or a bare number), but a
score outside [0, 1] is never rescaled: a judge answering on a 1-10 scale is
an error that names the answer, not a guess.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio

from gitevals._util.hashing import canonical_json
from gitevals._util.httpclient import LoopClient, api_key, excerpt, json_headers, status_message
from gitevals._util.retry import backoff_s, retry_info

from ._base import Score, ScorerError, ScorerInput

__all__ = ["llm_judge", "parse_judgement"]

SYSTEM = (
    "You are a careful, impartial evaluator. Grade the OUTPUT of an AI system against the RUBRIC. "
    "Use the INPUT it was given and, when present, the EXPECTED answer. "
    'Answer with one JSON object and nothing else: {"score": <a number from 0 to 1, where 1 fully '
    'meets the rubric and 0 does not meet it at all>, "reasoning": "<one or two sentences>"}.'
)


def llm_judge(
    *,
    rubric: str,
    model: str = "gpt-4o-mini",
    base_url: str | None = None,
    api_key_env: str | None = "OPENAI_API_KEY",
    timeout_s: float = 120.0,
    retries: int = 2,
) -> Callable[[ScorerInput], Awaitable[Score]]:
    """A model's grade in [0, 1] of how well the output meets `rubric`.

    `base_url` defaults to `$OPENAI_BASE_URL`, else OpenAI's. The key is read from
    `api_key_env` when the run starts (null: no key). Temperature is 0. A request
    that fails (after `retries` tries on 429 / 5xx / connection errors) or an answer
    that holds no score in [0, 1] is a scorer error, never a silent 0.
    """
    if not isinstance(rubric, str) or not rubric.strip():
        raise ScorerError("llm_judge needs a `rubric`: what a good output does")
    url = (base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")
    url += "/chat/completions"
    headers = json_headers(None, api_key(api_key_env, "the llm_judge scorer"))
    http = LoopClient(timeout_s)

    async def score(sample: ScorerInput) -> Score:
        body = {
            "model": model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": _prompt(rubric, sample)}],
        }
        answer = await _post(http, url, body, headers, retries)
        text = _content(answer)
        value, reasoning = parse_judgement(text)
        details: dict[str, Any] = {"judge_model": model}
        usage = answer.get("usage")
        if isinstance(usage, Mapping) and isinstance(usage.get("total_tokens"), int):
            details["judge_tokens"] = usage["total_tokens"]
        return Score(value, reasoning, details=details)

    return score


def parse_judgement(text: str) -> tuple[float, str | None]:
    """(score, reasoning) from a judge's answer: the first JSON object holding a
    `score`, or a bare number. Anything else, or a score outside [0, 1], is a ScorerError."""
    found = _first_object(text)
    if found is not None:
        value, reasoning = found.get("score"), found.get("reasoning") or found.get("reason")
    else:
        try:
            value, reasoning = float(text.strip()), None
        except ValueError:
            raise ScorerError(f"the judge's answer holds no JSON object with a score: {excerpt(text, 200)!r}") from None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ScorerError(f"the judge's score is not a number: {excerpt(text, 200)!r}")
    if not 0.0 <= value <= 1.0:
        raise ScorerError(f"the judge's score {value:g} is outside [0, 1]: {excerpt(text, 200)!r}")
    return float(value), None if reasoning is None else str(reasoning)


def _first_object(text: str) -> Mapping[str, Any] | None:
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            found, _ = decoder.raw_decode(text, start)
        except ValueError:
            found = None
        if isinstance(found, Mapping) and "score" in found:
            return found
        start = text.find("{", start + 1)
    return None


def _prompt(rubric: str, sample: ScorerInput) -> str:
    parts = [f"RUBRIC:\n{rubric.strip()}", f"INPUT:\n{_text(sample.input)}", f"OUTPUT:\n{_text(sample.output)}"]
    if sample.expected is not None:
        parts.append(f"EXPECTED:\n{_text(sample.expected)}")
    return "\n\n".join(parts)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else canonical_json(value)


async def _post(http: LoopClient, url: str, body: Any, headers: Mapping[str, str], retries: int) -> Mapping[str, Any]:
    attempt = 0
    while True:
        attempt += 1
        try:
            async with http.client() as client:
                response = await client.post(url, json=body, headers=headers)
        except Exception as exc:  # httpx's network errors: connection refused, timeouts, ...
            failure: Exception = exc
        else:
            if response.is_success:
                return _json_object(response, url)
            failure = _StatusError(status_message(response), response)
        retryable, retry_after = retry_info(failure)
        if not retryable or attempt > retries:
            tries = f" after {attempt} tries" if attempt > 1 else ""
            raise ScorerError(f"the judge request to {url} failed{tries}: {str(failure) or type(failure).__name__}") from None
        await anyio.sleep(backoff_s(attempt, retry_after))


def _json_object(response: Any, url: str) -> Mapping[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, Mapping):
        raise ScorerError(f"the judge at {url} did not answer a JSON object: {excerpt(response.text, 200)!r}")
    return answer


class _StatusError(Exception):
    """A non-2xx answer, carrying the response for `retry_info`."""

    def __init__(self, message: str, response: Any) -> None:
        super().__init__(message)
        self.response = response


def _content(answer: Mapping[str, Any]) -> str:
    try:
        content = answer["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ScorerError(f"the judge's answer has no choices[0].message.content: {excerpt(repr(answer), 200)}") from None
    if isinstance(content, list):
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    if not isinstance(content, str):
        raise ScorerError(f"the judge answered no text: {excerpt(repr(content), 200)}")
    return content
