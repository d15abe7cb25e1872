"""Damaged run folders are named, never skipped in silence, and never read as if whole."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from gitevals.runs import list_runs
from tests.conftest import ProjectDir

EXE = shutil.which("gitevals", path=str(Path(sys.executable).parent)) or "gitevals"


def gitevals(project: ProjectDir, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], cwd=project.root, capture_output=True, text=True, timeout=60)


def two_runs(project: ProjectDir) -> tuple[Path, Path]:
    project.write("agent_mod.py", "def run(x):\n    return x\n")
    project.write("datasets/d.yaml", "items:\n" + "".join(f"  - {{id: i{n}, input: a{n}, expected: a{n}}}\n"
                                                          for n in range(3)))
    project.write("evals/e.yaml", "dataset: d\ntarget: agent_mod:run\nscorers: [exact_match]\n")
    project.git_init()
    project.commit()
    for _ in range(2):
        assert gitevals(project, "run", "e").returncode == 0
    older, newer = (run.path for run in list_runs(project.root / "runs", "e"))
    return older, newer


def test_an_unreadable_run_json_is_listed_as_damaged_and_latest_does_not_skip_it(project: ProjectDir) -> None:
    older, newer = two_runs(project)
    (newer / "run.json").write_text('{"id": "torn')
    listed = gitevals(project, "runs", "list")
    assert listed.returncode == 0 and f"damaged runs/e/{newer.name}/: " in listed.stderr
    assert "run.json is not a valid run manifest" in listed.stderr and older.name in listed.stdout
    for args in (["runs", "show", "latest"], ["runs", "show", "e"], ["run", "e", "--resume", "latest"], ["compare"]):
        refused = gitevals(project, *args)
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
        assert newer.name in refused.stderr and "damaged" in refused.stderr and "Traceback" not in refused.stderr
    assert gitevals(project, "runs", "show", older.name).returncode == 0  # named by id, the older run is fine


def test_a_results_file_cut_short_is_refused_not_summed_as_complete(project: ProjectDir) -> None:
    older, newer = two_runs(project)
    results = newer / "results.jsonl"
    results.write_text(results.read_text().splitlines(keepends=True)[0])  # 1 of 3 results left
    report = str(project.root / "report.html")
    for args in (["compare", older.name, newer.name], ["report", newer.name, "--html", report],
                 ["runs", "show", newer.name]):
        refused = gitevals(project, *args)
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
        assert "results.jsonl holds 1 result, run.json counts 3" in refused.stderr, refused.stderr
    results.write_text("")
    emptied = gitevals(project, "compare", older.name, newer.name)
    assert emptied.returncode == 2 and "holds 0 results, run.json counts 3" in emptied.stderr


def test_a_runs_dir_that_is_a_file_is_a_clear_error(project: ProjectDir) -> None:
    project.write("agent_mod.py", "def run(x):\n    return x\n")
    project.write("datasets/d.yaml", "items:\n  - {id: a, input: x}\n")
    project.write("evals/e.yaml", "dataset: d\ntarget: agent_mod:run\n")
    project.write("gitevals.yaml", "runs_dir: results\n")
    project.write("results", "not a folder\n")
    done = gitevals(project, "run", "e")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "cannot record the run under" in done.stderr and "is a file, not a folder" in done.stderr
    assert (project.root / "results").read_text() == "not a folder\n"  # nothing of it lost


def test_runs_check_names_every_damaged_folder_and_repairs_what_it_can(project: ProjectDir) -> None:
    older, newer = two_runs(project)
    (newer / "run.json").write_bytes(b"\x00\xff binary")
    results = older / "results.jsonl"
    results.write_text(results.read_text().splitlines(keepends=True)[0])
    checked = gitevals(project, "runs", "check")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert f"damaged runs/e/{newer.name}/: " in checked.stderr
    assert f"damaged runs/e/{older.name}/: results.jsonl holds 1 results, run.json counts 3 (repair with --repair)" \
        in checked.stderr
    assert "checked 2 run folders: 2 damaged folders left" in checked.stdout
    repaired = gitevals(project, "runs", "check", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert f"repaired runs/e/{older.name}/: results.jsonl holds 1 results, run.json counts 3; run.json now sums up " \
        "the results" in repaired.stdout
    assert f"repaired runs/e/{newer.name}/" in repaired.stdout and "run.json rebuilt from the results" in repaired.stdout
    runs = {run.id: run for run in list_runs(project.root / "runs", "e")}
    first, rebuilt = runs[older.name], runs[newer.name]
    assert first.manifest.summary.total_items == 1 and first.manifest.summary.completed == 1  # the results won
    assert rebuilt.id == newer.name and rebuilt.manifest.eval == "e" and rebuilt.manifest.dataset == "d"
    assert rebuilt.manifest.summary.completed == 3 and rebuilt.manifest.summary.scores["exact_match"].mean == 1.0
    assert rebuilt.manifest.started_at.startswith(f"{newer.name[:4]}-{newer.name[4:6]}-{newer.name[6:8]}T")
    assert rebuilt.manifest.status == "interrupted" and "rebuilt from results.jsonl" in rebuilt.manifest.error
    assert gitevals(project, "runs", "check").stdout.strip() == "checked 2 run folders: no damage left"
    shown = gitevals(project, "runs", "show", "latest")
    assert shown.returncode == 0 and "rebuilt from results.jsonl" in shown.stdout + shown.stderr, shown.stdout
    (newer / "run.json").write_text("{}")
    (newer / "results.jsonl").write_text("")
    beyond = gitevals(project, "runs", "check", "--repair")
    assert beyond.returncode == 1 and f"damaged runs/e/{newer.name}/" in beyond.stderr
    assert "(repair with --repair)" not in beyond.stderr  # nothing to rebuild it from
    shutil.rmtree(newer)
    assert gitevals(project, "runs", "check").stdout.strip() == "checked 1 run folder: no damage left"


def test_a_committed_run_json_is_restored_from_git(project: ProjectDir) -> None:
    _, newer = two_runs(project)
    project.commit("the runs")
    whole = (newer / "run.json").read_bytes()
    (newer / "run.json").write_text('{"id": ')
    repaired = gitevals(project, "runs", "check", "e", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "run.json restored from git (HEAD)" in repaired.stdout
    assert (newer / "run.json").read_bytes() == whole


def test_score_and_resume_refuse_a_results_file_cut_short_and_resume_force_runs_the_lost_items(
        project: ProjectDir) -> None:
    _, newer = two_runs(project)
    results = newer / "results.jsonl"
    results.write_text(results.read_text().splitlines(keepends=True)[0])
    (project.root / "runs/e" / newer.name / "run.json").write_text(
        (newer / "run.json").read_text().replace('"status": "completed"', '"status": "interrupted"'))
    for args in (["score", newer.name, "--scorer", "contains"], ["run", "e", "--resume", newer.name]):
        refused = gitevals(project, *args)
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
        assert "results.jsonl holds 1 result, run.json counts 3" in refused.stderr and "Traceback" not in refused.stderr
    assert len(results.read_text().splitlines()) == 1  # refused before anything was written
    forced = gitevals(project, "run", "e", "--resume", newer.name, "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert sorted(line.split('"item_id": "')[1][:2] for line in results.read_text().splitlines()) == ["i0", "i1", "i2"]


def test_the_web_ui_names_the_damage_of_a_run_it_cannot_show_whole(project: ProjectDir, client_for) -> None:  # type: ignore[no-untyped-def]
    _, newer = two_runs(project)
    (newer / "results.jsonl").write_text("")
    client = client_for(project)
    for page in (f"/runs/{newer.name}", f"/runs/{newer.name}/review"):
        answer = client.get(page)
        assert answer.status_code >= 400, (page, answer.status_code)
        assert "results.jsonl holds 0 results, run.json counts 3" in answer.text, (page, answer.text[:500])
