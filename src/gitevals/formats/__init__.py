"""The file formats: pydantic models of every YAML and JSON file gitevals reads or writes, and their JSON Schemas.
"""

from typing import TYPE_CHECKING

from gitevals._util.lazy import attach

if TYPE_CHECKING:
    from ._models import (
        ID_RE,
        AgentScorerConfig,
        CommandTargetConfig,
        DatasetFile,
        DatasetItemModel,
        EvalConfig,
        GateConfig,
        GateResult,
        GitInfo,
        HttpTargetConfig,
        MastraTargetConfig,
        OpenAITargetConfig,
        ProjectConfig,
        PythonTargetConfig,
        ResultLine,
        ReviewLine,
        RunManifest,
        RunProcess,
        ScorerConfig,
        ScorerSummary,
        ScoringPass,
        Summary,
        TargetConfig,
        ThresholdConfig,
        Versions,
        WorkflowScorerConfig,
    )
    from ._records import ResultRecord
    from ._schemas import field_docstrings, generate_schemas, stale_schemas, write_schemas
    from ._scorer_specs import recorded_scorer_name, recorded_scorers, scorer_config_key
    from ._trajectory import walk_steps
    from ._verdicts import error_limit, record_passed, result_passed, score_passed

__all__ = [
    "AgentScorerConfig",
    "CommandTargetConfig",
    "DatasetFile",
    "DatasetItemModel",
    "EvalConfig",
    "GateConfig",
    "GateResult",
    "GitInfo",
    "HttpTargetConfig",
    "ID_RE",
    "MastraTargetConfig",
    "OpenAITargetConfig",
    "ProjectConfig",
    "PythonTargetConfig",
    "ResultLine",
    "ResultRecord",
    "ReviewLine",
    "RunManifest",
    "RunProcess",
    "ScorerConfig",
    "ScorerSummary",
    "ScoringPass",
    "Summary",
    "TargetConfig",
    "ThresholdConfig",
    "Versions",
    "WorkflowScorerConfig",
    "error_limit",
    "field_docstrings",
    "generate_schemas",
    "record_passed",
    "recorded_scorer_name",
    "recorded_scorers",
    "result_passed",
    "score_passed",
    "scorer_config_key",
    "stale_schemas",
    "walk_steps",
    "write_schemas",
]

__getattr__, __dir__ = attach(__name__, {
    "_models": ["ID_RE", "AgentScorerConfig", "CommandTargetConfig", "DatasetFile", "DatasetItemModel", "EvalConfig", "GateConfig", "GateResult", "GitInfo", "HttpTargetConfig", "MastraTargetConfig", "OpenAITargetConfig", "ProjectConfig", "PythonTargetConfig", "ResultLine", "ReviewLine", "RunManifest", "RunProcess", "ScorerConfig", "ScorerSummary", "ScoringPass", "Summary", "TargetConfig", "ThresholdConfig", "Versions", "WorkflowScorerConfig"],
    "_records": ["ResultRecord"],
    "_schemas": ["field_docstrings", "generate_schemas", "stale_schemas", "write_schemas"],
    "_scorer_specs": ["recorded_scorer_name", "recorded_scorers", "scorer_config_key"],
    "_trajectory": ["walk_steps"],
    "_verdicts": ["error_limit", "record_passed", "result_passed", "score_passed"],
})
