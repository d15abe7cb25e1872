"""The run store: run folders under runs/ (run.json and results.jsonl), references to runs,
summaries and gates, human reviews, the liveness of a running run, merging shards, and history.

It records and reads runs; it never runs a target or a scorer (that is `gitevals.engine`).
"""

from typing import TYPE_CHECKING

from gitevals._util.lazy import attach

if TYPE_CHECKING:
    from ._check import REBUILT, Damage, check_runs, repair
    from ._history import run_history
    from ._liveness import current_process, interrupt_refusal, interrupt_run, process_gone, resume_command, run_liveness
    from ._merge import merge_runs
    from ._refs import LoadedRun, check_ref, find_baseline, load_run, newest_pair
    from ._review import (
        HUMAN,
        ONLY,
        ReviewSession,
        apply_reviews,
        default_reviewer,
        human_score,
        item_status,
        latest_reviews,
        manifest_with_reviews,
        open_review,
        read_reviews,
        records_with_reviews,
        review_counts,
    )
    from ._scorefile import SCORES, Key, ScoreFile
    from ._store import (
        MANIFEST,
        RESULTS,
        RunInfo,
        RunWriter,
        find_run,
        list_runs,
        new_run_id,
        parse_results,
        read_checked_results,
        read_manifest,
        read_results,
        rewrite_results,
        scan_runs,
        update_manifest,
        write_manifest,
    )
    from ._summary import Summarizer, baseline_gates, check_gates, every_item_rule, scorer_names, summarize

__all__ = [
    "Damage",
    "HUMAN",
    "Key",
    "LoadedRun",
    "MANIFEST",
    "ONLY",
    "REBUILT",
    "RESULTS",
    "ReviewSession",
    "RunInfo",
    "RunWriter",
    "SCORES",
    "ScoreFile",
    "Summarizer",
    "apply_reviews",
    "baseline_gates",
    "check_gates",
    "check_ref",
    "check_runs",
    "current_process",
    "default_reviewer",
    "every_item_rule",
    "find_baseline",
    "find_run",
    "human_score",
    "interrupt_refusal",
    "interrupt_run",
    "item_status",
    "latest_reviews",
    "list_runs",
    "load_run",
    "manifest_with_reviews",
    "merge_runs",
    "new_run_id",
    "newest_pair",
    "open_review",
    "parse_results",
    "process_gone",
    "read_checked_results",
    "read_manifest",
    "read_results",
    "read_reviews",
    "records_with_reviews",
    "repair",
    "resume_command",
    "review_counts",
    "rewrite_results",
    "run_history",
    "run_liveness",
    "scan_runs",
    "scorer_names",
    "summarize",
    "update_manifest",
    "write_manifest",
]

__getattr__, __dir__ = attach(__name__, {
    "_history": ["run_history"],
    "_liveness": ["current_process", "interrupt_refusal", "interrupt_run", "process_gone", "resume_command", "run_liveness"],
    "_merge": ["merge_runs"],
    "_refs": ["LoadedRun", "check_ref", "find_baseline", "load_run", "newest_pair"],
    "_review": ["HUMAN", "ONLY", "ReviewSession", "apply_reviews", "default_reviewer", "human_score", "item_status", "latest_reviews", "manifest_with_reviews", "open_review", "read_reviews", "records_with_reviews", "review_counts"],
    "_scorefile": ["SCORES", "Key", "ScoreFile"],
    "_store": ["MANIFEST", "RESULTS", "RunInfo", "RunWriter", "find_run", "list_runs", "new_run_id", "parse_results", "read_checked_results", "read_manifest", "read_results", "rewrite_results", "scan_runs", "update_manifest", "write_manifest"],
    "_check": ["REBUILT", "Damage", "check_runs", "repair"],
    "_summary": ["Summarizer", "baseline_gates", "check_gates", "every_item_rule", "scorer_names", "summarize"],
})
