"""The command target with real subprocesses."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from gitevals import run_evals
from gitevals.targets import CommandTarget, resolve_target

SCRIPT = r"""
import json, sys, time
item = json.load(sys.stdin)
text = item["input"]
if text == "crash":
    print("traceback: something broke", file=sys.stderr)
    sys.exit(3)
if text == "garbage":
    print("not json at all")
    sys.exit(0)
if text == "hang":
    time.sleep(30)
print(json.dumps({"echo": text, "style": item["options"].get("style"), "id": item["id"]}))
"""


def make_script(tmp_path: Path) -> Path:
    path = tmp_path / "target.py"
    path.write_text(SCRIPT)
    return path


def test_item_json_in_output_json_out(tmp_path: Path) -> None:
    target = CommandTarget([sys.executable, str(make_script(tmp_path))])
    result = run_evals(target, [{"id": "a", "input": "hi"}], target_options={"style": "x"})
    assert result.items[0].output == {"echo": "hi", "style": "x", "id": "a"}


def test_failures_keep_stderr_and_do_not_stop_the_run(tmp_path: Path) -> None:
    target = CommandTarget([sys.executable, str(make_script(tmp_path))])
    data = [{"id": "crash", "input": "crash"}, {"id": "garbage", "input": "garbage"}, {"id": "ok", "input": "fine"}]
    result = run_evals(target, data, concurrency=3)
    by_id = {r.item.id: r for r in result.items}
    crash = by_id["crash"].error
    assert crash is not None and crash["type"] == "exit_status" and "status 3" in crash["message"]
    assert "something broke" in crash["stderr"]
    garbage = by_id["garbage"].error
    assert garbage is not None and garbage["type"] == "bad_output" and "not json at all" in garbage["message"]
    assert by_id["ok"].error is None


def test_timeout_kills_the_process(tmp_path: Path) -> None:
    target = CommandTarget([sys.executable, str(make_script(tmp_path))])
    started = time.perf_counter()
    result = run_evals(target, [{"input": "hang"}], timeout_s=0.5)
    assert time.perf_counter() - started < 5
    assert result.items[0].error is not None and result.items[0].error["type"] == "timeout"


def test_text_output_and_string_command(tmp_path: Path) -> None:
    target = resolve_target({"type": "command", "command": "cat", "output": "text"}, root=tmp_path)
    result = run_evals(target, [{"id": "a", "input": "hi"}])
    assert '"input": "hi"' in result.items[0].output


def test_missing_program_is_an_item_error(tmp_path: Path) -> None:
    target = CommandTarget(["definitely-not-a-program-xyz"])
    result = run_evals(target, [{"input": "hi"}])
    assert result.items[0].error == {"type": "command_not_found", "message": "command not found: definitely-not-a-program-xyz"}


def test_env_references_are_resolved_at_run_time(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GE_TEST_TOKEN", "s3cret")
    spec = {"type": "command", "command": [sys.executable, "-c", "import os; print(repr(os.environ['TOKEN']))"],
            "env": {"TOKEN": "${GE_TEST_TOKEN}"}, "output": "text"}
    result = run_evals(resolve_target(spec, root=tmp_path), [{"input": "x"}])
    assert result.items[0].output == "'s3cret'"


def test_a_command_that_does_not_read_its_large_input(tmp_path: Path) -> None:
    big = "x" * 2_000_000  # far more than a pipe holds: writing it fails once the command is gone
    data = [{"id": f"i{n}", "input": big} for n in range(4)]
    quiet = run_evals(CommandTarget(["sh", "-c", "echo '{\"ok\": 1}'; exit 0"]), data, concurrency=2)
    assert [(r.error, r.output) for r in quiet.items] == [(None, {"ok": 1})] * 4  # needing no input is fine
    crash = run_evals(CommandTarget(["sh", "-c", "echo 'no API key' >&2; exit 3"]), data, concurrency=2)
    for item in crash.items:
        assert item.error == {"type": "exit_status", "message": "command exited with status 3", "stderr": "no API key\n"}
