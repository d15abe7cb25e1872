"""git.py against real repositories."""

from __future__ import annotations

from pathlib import Path

from gitevals.git import git_info

from .conftest import ProjectDir, git


def test_commit_branch_and_clean(project: ProjectDir) -> None:
    project.git_init()
    data = project.write("datasets/d.yaml", "items: []\n")
    sha = project.commit()
    info = git_info(project.root, [data])
    assert info is not None and (info.commit, info.branch, info.dirty) == (sha, "main", False)


def test_repository_without_commits(project: ProjectDir) -> None:
    project.git_init()
    data = project.write("datasets/d.yaml", "items: []\n")
    info = git_info(project.root, [data])
    assert info is not None
    assert (info.commit, info.branch, info.dirty_paths) == (None, "main", ["datasets/d.yaml"])


def test_detached_head(project: ProjectDir) -> None:
    project.git_init()
    first = project.commit("one")
    project.commit("two")
    git(project.root, "checkout", "--quiet", first)
    info = git_info(project.root)
    assert info is not None and (info.commit, info.branch) == (first, None)


def test_modified_staged_renamed_and_untracked_watched_files(project: ProjectDir) -> None:
    project.git_init()
    a = project.write("a.yaml", "a: 1\n")
    b = project.write("b.yaml", "b: 1\n")
    project.write("c.yaml", "c: 1\n")
    project.write("unwatched.yaml", "x: 1\n")
    project.commit()
    a.write_text("a: 2\n")
    b.write_text("b: 2\n")
    git(project.root, "add", "b.yaml")
    git(project.root, "mv", "c.yaml", "c2.yaml")
    new = project.write("sub dir/new.yaml", "n: 1\n")
    (project.root / "unwatched.yaml").write_text("x: 2\n")
    info = git_info(project.root, [a, b, project.root / "c2.yaml", new])
    assert info is not None and info.dirty
    assert info.dirty_paths == ["a.yaml", "b.yaml", "c2.yaml", "sub dir/new.yaml"]


def test_outside_a_repository(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert git_info(tmp_path, []) is None


def test_code_folders_with_ignored_parts_and_paths_outside_the_repository(project: ProjectDir) -> None:
    project.git_init()
    project.write("datasets/qa.yaml", "items: []\n")
    project.write("agent.py", "x = 1\n")
    project.commit()
    project.write("datasets/qa.yaml", "items: [] # edited\n")
    project.write("datasets/other.yaml", "items: []\n")
    project.write("runs/e/1/run.json", "{}\n")
    project.write("agent.py", "x = 2\n")
    project.write("evals-junit.xml", "<testsuites/>\n")  # untracked, in a code folder: a report, not code
    new_eval = project.write("evals/new.yaml", "dataset: qa\n")  # untracked, but watched itself
    info = git_info(project.root, watched=[project.root / "datasets/qa.yaml", new_eval],
                    code=[project.root, project.root.parent],  # the parent is outside the repository
                    ignored=[project.root / "datasets", project.root / "evals", project.root / "runs"])
    assert info is not None and info.dirty_paths == ["agent.py", "datasets/qa.yaml", "evals/new.yaml"]
