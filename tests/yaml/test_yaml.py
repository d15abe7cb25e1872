"""The fast YAML reader gives exactly what ruamel's safe loader gives, and refuses the rest."""

from __future__ import annotations

import math
from typing import Any

import pytest

from gitevals._yaml.load import YamlProblem, _safe_yaml, load_yaml

SAME_AS_RUAMEL = [
    "a: 1\nb: -2\nc: 0x1F\nd: 0o17\ne: 017\nf: 1_000\ng: +5\n",
    "a: 1.5\nb: .inf\nc: -.Inf\nd: 1e3\ne: 1.\nf: .5\ng: 6.02e+23\nh: .nan\n",
    "a: true\nb: False\nc: yes\nd: no\ne: on\nf: ~\ng: null\nh: Null\ni:\nj: ''\n",
    "a: 2026-01-01\nb: 2026-01-01T10:00:00Z\nc: '2026'\nd: \"x\\ny\"\n",
    "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\nlist: [*b, *b]\n",
    "- a\n- [1, 2, {k: v}]\n- |\n  block\n  text\n- >\n  folded\n  text\n",
    "? complex key\n: 1\n3: three\n",
    "a: !!str 3\nb: !!int '7'\nc: !!float '2'\nd: !!map {x: 1}\ne: !!seq [1]\n",
    "",
    "# only a comment\n",
    "multi: >-\n  a\n  b\nnum_str: '12'\nemoji: \"\\U0001F600\"\nplain: hello world # comment\n",
    "items:\n  - id: a\n    input: {q: 'x', n: [1, 2.5, null, true]}\n    context: {tags: [t1, t2]}\n",
]


def _comparable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, dict):
        return [(k, _comparable(v)) for k, v in value.items()]  # key order matters too
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return (type(value).__name__, value)


@pytest.mark.parametrize("text", SAME_AS_RUAMEL)
def test_values_match_ruamel_safe_loader(text: str) -> None:
    assert _comparable(load_yaml(text, "f.yaml")) == _comparable(_safe_yaml().load(text))


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("a: 1\n---\nb: 2\n", (2, 1), "expected a single document"),
        ("a: *nope\n", (1, 4), "undefined alias"),
        ("a: !!python/tuple [1, 2]\n", (1, 4), "the tag !!python/tuple is not allowed"),
        ("a: !!binary aGk=\n", (1, 4), "the tag !!binary is not allowed"),
        ("a: !custom x\n", (1, 4), "the tag !custom is not allowed"),
        ("? [1, 2]\n: x\n", (1, 3), "a mapping key must be a plain value"),
        ("a: 1\nb: 2\na: 3\n", (3, 1), 'found duplicate key "a"'),
    ],
)
def test_what_is_not_plain_data_is_refused_with_its_position(text: str, where: tuple[int, int], message: str) -> None:
    with pytest.raises(YamlProblem) as caught:
        load_yaml(text, "f.yaml")
    problem = caught.value.problem
    assert (problem.line, problem.col) == where
    assert message in problem.message
