"""The file formats: every file gitevals reads or writes is one of these models.

`schemas/*.schema.json` are generated from them (`gitevals schema --write`).
Models are built lazily (`defer_build`) so that commands which never touch a
format do not pay for it at start-up.
"""

import difflib
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

__all__ = [
    "CommandTargetConfig",
    "DatasetFile",
    "DatasetItemModel",
    "Defaults",
    "ErrorInfo",
    "EvalConfig",
    "GateResult",
    "GitInfo",
    "HttpTargetConfig",
    "MastraTargetConfig",
    "OpenAITargetConfig",
    "ProjectConfig",
    "PythonTargetConfig",
    "ResultLine",
    "ReviewLine",
    "RunManifest",
    "RunProcess",
    "ScoreRecord",
    "ScoreRevision",
    "ScorerConfig",
    "ScorerSummary",
    "ScoringPass",
    "Summary",
    "ThresholdConfig",
    "Versions",
    "SCHEMA_MODELS",
]

ID_PATTERN = r"^[A-Za-z0-9._-]+$"
ID_RE = re.compile(ID_PATTERN)
"""An item id (or a dataset's, an eval's name): use `ID_RE.fullmatch`."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


# --- targets and scorers, as written in config -------------------------------


class PythonTargetConfig(_Strict):
    """A Python callable or object, imported by reference."""

    type: Literal["python"] = "python"
    """Target kind."""
    ref: str
    """`module:attr` of a function (sync or async) or of an object with `run`,
    `generate`, `invoke` or `ainvoke`."""


class CommandTargetConfig(_Strict):
    """A subprocess: the item as JSON on stdin, the output as JSON on stdout."""

    type: Literal["command"]
    """Target kind."""
    command: str | list[str]
    """The program and its arguments; a string is split like a shell would."""
    cwd: str | None = None
    """Working folder, relative to the project root. Default: the project root."""
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment variables; `${VAR}` is replaced from the environment."""
    output: Literal["json", "text"] = "json"
    """How stdout is read: parsed as JSON, or taken as text (trailing newline removed)."""


class HttpTargetConfig(_Strict):
    """Any JSON endpoint: the item goes into a request body, the output comes from a JSON path."""

    type: Literal["http"]
    """Target kind."""
    url: str
    """The endpoint, e.g. `http://127.0.0.1:8000/answer`."""
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    """HTTP method. GET and DELETE send no body."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Request headers; `${VAR}` is replaced from the environment when the run
    starts and never written to a run folder."""
    body: Any = None
    """The JSON body: any JSON value in which a string `"{{input}}"` becomes the
    item's input, `"{{options.X}}"`, `"{{context.X}}"`, `"{{request_context.X}}"`
    and `"{{id}}"` likewise (a missing value is null); inside a longer string a
    placeholder is replaced by the value's text. `"{{tool_mocks}}"` and
    `"{{unmocked_tools}}"` send the item's mocks, for a server that applies
    them; without them, items with mocks are refused. Default:
    `{"input": "{{input}}", "options": "{{options}}"}`."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Query parameters, with the same placeholders as `body`."""
    output: str | None = None
    """A JSON path to the output in the response, like `$.choices[0].message.content`
    or `data.answer`. Default: the whole response."""
    timeout_s: float | None = Field(default=300.0, gt=0)
    """Seconds to wait for the server to connect and answer (the eval's
    `timeout_s` bounds the whole call as well)."""


class OpenAITargetConfig(_Strict):
    """An OpenAI-compatible chat completions endpoint (OpenAI, vLLM, Ollama, llama.cpp, ...)."""

    type: Literal["openai"]
    """Target kind."""
    model: str
    """The model name sent in every request."""
    base_url: str = "https://api.openai.com/v1"
    """The API's base URL, up to and including `/v1`; `/chat/completions` is appended."""
    api_key_env: str | None = "OPENAI_API_KEY"
    """The environment variable holding the API key, read when the run starts and
    never stored; null for a local server that needs no key."""
    system: str | None = None
    """A system prompt put before the item's messages."""
    temperature: float | None = Field(default=None, ge=0)
    """Sampling temperature. Default: the server's."""
    max_tokens: int | None = Field(default=None, ge=1)
    """The most tokens to generate. Default: the server's."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Other request fields (`tools`, `seed`, `response_format`, ...); the eval's
    `target_options` and an item's `start_options` are added over them."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra request headers; `${VAR}` is replaced from the environment."""
    timeout_s: float | None = Field(default=300.0, gt=0)
    """Seconds to wait for the server to connect and answer."""


class MastraTargetConfig(_Strict):
    """An agent or a workflow on a running Mastra server, through its REST API."""

    type: Literal["mastra"]
    """Target kind."""
    base_url: str
    """The server, e.g. `http://localhost:4111` (routes are under `/api`)."""
    agent: str | None = None
    """The id of an agent to call (`POST /api/agents/<id>/generate`)."""
    workflow: str | None = None
    """The id of a workflow to run (`create-run`, then `start-async`)."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra request headers (say, `Authorization`); `${VAR}` is replaced from the environment."""
    timeout_s: float | None = Field(default=300.0, gt=0)
    """Seconds to wait for the server to connect and answer."""

    @model_validator(mode="after")
    def _one_of_agent_or_workflow(self) -> "MastraTargetConfig":
        if (self.agent is None) == (self.workflow is None):
            raise ValueError("a mastra target takes exactly one of `agent: <id>` or `workflow: <id>`")
        return self


TargetConfig = Annotated[
    PythonTargetConfig | CommandTargetConfig | HttpTargetConfig | OpenAITargetConfig | MastraTargetConfig,
    Field(discriminator="type"),
]
TargetSpec = str | TargetConfig


class ScorerConfig(BaseModel):
    """A scorer with options: `{type: contains, name: mentions-days, value: days}`.

    Keys other than `type`, `name` and `threshold` are the scorer's options.
    """

    model_config = ConfigDict(extra="allow", defer_build=True)

    type: str
    """A built-in scorer name, a name from `scorers:` in gitevals.yaml, or `module:attr`."""
    name: str | None = None
    """The name its scores are stored under. Default: the type."""
    threshold: float | None = Field(default=None, ge=0, le=1)
    """A score passes when its value is at least this. Default: 0.5."""


ScorerSpec = str | ScorerConfig


class AgentScorerConfig(_Strict):
    """Scorers for an agent: its answer, and the path it took."""

    agent: list[ScorerSpec] = Field(default_factory=list)
    """Scorers of the agent's output."""
    trajectory: list[ScorerSpec] = Field(default_factory=list)
    """Scorers of its trajectory (tool calls), stored as `trajectory.<name>`."""


class WorkflowScorerConfig(_Strict):
    """Scorers for a workflow: its result, single steps, and the path it took."""

    workflow: list[ScorerSpec] = Field(default_factory=list)
    """Scorers of the workflow's output."""
    steps: dict[str, list[ScorerSpec]] = Field(default_factory=dict)
    """Step id -> scorers of that step's input and output, stored as `steps.<id>.<name>`."""
    trajectory: list[ScorerSpec] = Field(default_factory=list)
    """Scorers of the steps taken, stored as `trajectory.<name>`."""


class GateConfig(_Strict):
    """Gates on the comparison with the baseline run."""

    max_regressions: int | None = Field(default=None, ge=0)
    """The most items allowed to regress (pass to fail, or drop beyond the tolerance)."""
    fail_on_regression: bool = False
    """Fail when any scorer's verdict is `regressed` (a drop beyond the tolerance that is significant)."""


UnitFloat = Annotated[float, Field(ge=0, le=1, strict=True)]
"""A number from 0 to 1; `true` or a quoted "0.8" is refused rather than read as a number."""


class ThresholdConfig(_Strict):
    """Gates on one scorer's summary; every one given must hold."""

    mean: UnitFloat | None = None
    """The lowest acceptable mean score."""
    pass_rate: UnitFloat | None = None
    """The lowest acceptable fraction of passing scores."""

    @model_validator(mode="after")
    def _gates_something(self) -> "ThresholdConfig":
        if self.mean is None and self.pass_rate is None:
            raise ValueError("a threshold needs `mean`, `pass_rate` or both, like {mean: 0.8, pass_rate: 0.9}")
        return self


def _threshold_form(value: Any) -> str:
    return "ThresholdConfig" if isinstance(value, (dict, ThresholdConfig)) else "float"


Threshold = Annotated[
    Annotated[UnitFloat, Tag("float")] | Annotated[ThresholdConfig, Tag("ThresholdConfig")],
    Discriminator(_threshold_form),
]
"""A mean, or `{mean, pass_rate}`: each value is read as one form only, so a bad
one gets one error rather than one per form."""


# --- gitevals.yaml ------------------------------------------------------------


class Defaults(_Strict):
    """Run settings used when an eval file does not set them."""

    concurrency: int = Field(default=4, ge=1)
    """How many items run at once."""
    timeout_s: float | None = Field(default=None, gt=0)
    """Seconds one target call may take before it counts as an error."""
    retries: int = Field(default=0, ge=0)
    """How often a failing target call is tried again."""
    trials: int = Field(default=1, ge=1)
    """How many times every item runs."""


class ProjectConfig(_Strict):
    """gitevals.yaml: the project's layout and shared definitions."""

    datasets_dir: str = "datasets"
    """Folder of dataset files, relative to the project root."""
    evals_dir: str = "evals"
    """Folder of eval files, relative to the project root."""
    runs_dir: str = "runs"
    """Folder run results are written to, relative to the project root."""
    python_path: list[str] = Field(default_factory=lambda: ["."])
    """Folders put on sys.path so that `module:attr` references import."""
    defaults: Defaults = Field(default_factory=Defaults)
    """Run settings for evals that do not set their own."""
    targets: dict[str, TargetSpec] = Field(default_factory=dict)
    """Named targets an eval can refer to by name."""
    scorers: dict[str, ScorerSpec] = Field(default_factory=dict)
    """Named scorers an eval can refer to by name."""
    auto_commit: bool = False
    """Commit every dataset edit made with gitevals (as `--commit` does)."""


# --- datasets -----------------------------------------------------------------


STEP_TYPES = ("tool_call", "workflow_step", "model_call")
"""The kinds of step gitevals' tracing and targets record."""


class ExpectedStep(BaseModel):
    """One step of an expected trajectory. Other keys are kept as they are."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    type: str | None = None
    """What kind of step: `tool_call` (`@trace.tool`), `workflow_step` (`@trace.step`), `model_call`, or
    any kind a target records with `trace.record`; any kind when left out."""
    name: str | None = None
    """The tool's or step's name."""
    args: Any = None
    """Arguments the step must be called with (those given must match)."""
    children: list["ExpectedStep"] | None = None
    """Steps expected inside this one."""
    optional: bool | None = None
    """Whether the step may be skipped without cost."""

    @field_validator("type")
    @classmethod
    def _not_a_misspelt_kind(cls, value: str | None) -> str | None:
        # Any kind may be recorded, so only a near miss of a known one is refused:
        # `tool_cal` could never match a step, and nothing would say why.
        if value is None or value in STEP_TYPES:
            return value
        near = difflib.get_close_matches(value, STEP_TYPES, n=1, cutoff=0.75)
        if near:
            raise ValueError(f"{value!r} is not a kind of step; did you mean {near[0]!r}?")
        return value


class ExpectedTrajectory(_Strict):
    """The path an item's agent or workflow should take (read by the trajectory scorers)."""

    steps: list[ExpectedStep] | None = None
    """Expected steps: `{type: tool_call | workflow_step, name, args, children, optional}`;
    an `optional: true` step may be skipped without cost."""
    ordering: Literal["strict", "relaxed", "unordered"] | None = None
    """How the order of steps counts. Default: the scorer's (relaxed)."""
    max_steps: int | None = Field(default=None, ge=0)
    """A budget of steps; more lowers the `trajectory` score."""
    max_total_tokens: int | None = Field(default=None, ge=0)
    """A budget of tokens over all steps."""
    max_duration_ms: float | None = Field(default=None, ge=0)
    """A budget of time over the top-level steps."""
    blacklist: list[str | list[str]] | None = None
    """Tools, or sequences of tools, that must never be called: a hit scores 0."""
    allow_tool_failures: bool | None = None
    """Whether failed tool calls are tolerated (default: not)."""
    max_retries_per_tool: int | None = Field(default=None, ge=0)
    """How many failed calls of one tool are tolerated."""


class DatasetItemModel(_Strict):
    """One test case."""

    model_config = ConfigDict(extra="forbid", defer_build=True, coerce_numbers_to_str=True)

    id: str | None = None
    """Unique in the file, `[A-Za-z0-9._-]+`, and stable forever: it lines up
    versions of the dataset."""
    input: Any
    """What the target is given: any JSON value."""
    expected: Any = None
    """The ground truth, when there is one: any JSON value."""
    context: dict[str, Any] = Field(default_factory=dict)
    """Metadata for scorers and filters; `tags` (a list of strings) drives `--tag`."""
    expected_trajectory: ExpectedTrajectory | None = None
    """The tool calls or steps the target should take."""
    tool_mocks: dict[str, Any] | None = None
    """Tool name to the value `@tool` functions return instead of running."""
    unmocked_tools: Literal["allow", "deny"] | None = None
    """Whether tools without a mock may run."""
    request_context: dict[str, Any] | None = None
    """Passed to the target with the input."""
    start_options: dict[str, Any] | None = None
    """Merged over the eval's `target_options` for this item."""


class DatasetFile(_Strict):
    """A dataset file: `datasets/<name>.yaml`."""

    description: str | None = None
    """What the dataset tests."""
    input_schema: dict[str, Any] | None = None
    """A JSON Schema every item's `input` must satisfy."""
    expected_schema: dict[str, Any] | None = None
    """A JSON Schema every item's `expected` must satisfy (when present)."""
    items: list[DatasetItemModel] = Field(default_factory=list)
    """The test cases."""
    retired_ids: list[str] = Field(default_factory=list)
    """Ids of removed items. They are never given to a new item, so an id
    always means the same test case across the file's history."""


# --- evals --------------------------------------------------------------------


class EvalConfig(_Strict):
    """An eval file: `evals/<name>.yaml`, one run configuration."""

    description: str | None = None
    """What the eval checks."""
    dataset: str
    """The dataset's name (its file stem)."""
    tags: list[str] = Field(default_factory=list)
    """Run only items with at least one of these tags in `context.tags`."""
    target: TargetSpec
    """`module:attr`, a named target from gitevals.yaml, or a target mapping."""
    target_options: dict[str, Any] = Field(default_factory=dict)
    """Forwarded to the target on every call (keyword arguments for Python)."""
    scorers: list[ScorerSpec] | AgentScorerConfig | WorkflowScorerConfig = Field(default_factory=list)
    """A list of scorers of the output (a built-in name, `module:attr`, or a
    mapping), or `{agent: [...], trajectory: [...]}`, or
    `{workflow: [...], steps: {step_id: [...]}, trajectory: [...]}`."""
    concurrency: int | None = Field(default=None, ge=1)
    """How many items run at once. Default: from gitevals.yaml."""
    trials: int | None = Field(default=None, ge=1)
    """How many times every item runs. Default: from gitevals.yaml."""
    timeout_s: float | None = Field(default=None, gt=0)
    """Seconds one target call may take. Default: from gitevals.yaml."""
    retries: int | None = Field(default=None, ge=0)
    """How often a failed target call is tried again when the failure is worth
    it (timeout, connection error, HTTP 429 or 5xx, `RetryableError`), with
    exponential backoff and jitter, honouring Retry-After. Default: from gitevals.yaml."""
    rate_limit: float | str | None = None
    """Target calls allowed across all concurrent items: per second (`5`), or
    `"5/s"`, `"300/min"`."""
    max_errors: int | float | str | None = None
    """Stop the run early (exit 1) after more target errors than this: a count
    (`10`), a fraction of all calls (`0.2`) or a percentage (`"20%"`)."""
    allowed_errors: int | float | str | None = None
    """How many errors the target, and each scorer, may have in a run with
    thresholds (or a baseline gate) that still passes, in the forms of
    `max_errors`. Default: `max_errors` when set, else none. (Without
    thresholds every item must pass, so no error is allowed.)"""
    thresholds: dict[str, Threshold] = Field(default_factory=dict)
    """Gates per scorer name: a number from 0 to 1 is the lowest acceptable
    mean; `{mean, pass_rate}` sets either or both. Without thresholds (and
    without `gate`), the run passes only when every item passes."""
    gate: GateConfig | None = None
    """Gates on the comparison with the baseline (`gitevals run --baseline REF`)."""
    trace: Literal["auto", "otel", "off"] = "auto"
    """Trajectories from OpenTelemetry spans: `otel` captures the spans each
    item's (Python) target creates, as its trajectory; `auto` does when the eval
    has a trajectory or step scorer and the OpenTelemetry SDK is installed
    (`pip install 'gitevals[otel]'`); `off` never does."""


# --- runs ---------------------------------------------------------------------


class GitInfo(_Strict):
    """Where in git history the run was made."""

    commit: str | None
    """HEAD's commit sha; null in a repository with no commits."""
    branch: str | None
    """The branch checked out; null on a detached HEAD."""
    dirty: bool
    """Whether anything the results depend on differed from the commit: the eval
    file, its dataset, gitevals.yaml, or a tracked file of the code (the
    `python_path` folders, a command target's folder), leaving out runs, other
    datasets and evals, and untracked files among the code (reports, virtualenvs)."""
    dirty_paths: list[str] = Field(default_factory=list)
    """The files among them that had uncommitted changes, relative to the repository root."""


class RunProcess(_Strict):
    """The process recording a run, while it runs: so that a reader can tell a
    live run from one whose process was killed (kill -9, a crash, a closed laptop)."""

    pid: int = Field(gt=0)
    """Its process id, which means something only on `host`."""
    host: str
    """The name of the machine it runs on (`socket.gethostname()`)."""
    started: str | None = None
    """UTC time the process started, ISO 8601, where the system tells it cheaply (Linux); null elsewhere."""
    start_ticks: int | None = None
    """Linux: when the process started, in clock ticks after boot (/proc/PID/stat); a later
    process given the same pid has another value, so it is never taken for this one."""
    interruptible: bool = False
    """SIGINT to this process interrupts this run alone and records it `interrupted`, as
    Ctrl-C does (`gitevals run`); the web UI's Cancel signals it only then. False for a
    process that does more than this run (`gitevals ui`, a program using the Python API)."""


class Versions(_Strict):
    """Software versions the run was made with."""

    gitevals: str
    """The gitevals version."""
    python: str
    """The Python version."""


class ScorerSummary(_Strict):
    """One scorer over the whole run."""

    mean: float | None
    """Mean score over items (each item's trials averaged first); null when none was scored."""
    stderr: float | None
    """Standard error of the mean over items; null with fewer than two."""
    n: int
    """How many items were scored."""
    pass_rate: float | None
    """Fraction of computed scores that passed."""
    errors: int = 0
    """How many times the scorer itself failed (not counted in the mean)."""
    skipped: int = 0
    """How many outputs the scorer did not apply to (not counted in the mean)."""
    pass_at_k: float | None = None
    """With trials: the fraction of items that passed in at least one trial."""
    pass_all_k: float | None = None
    """With trials: the fraction of items that passed in every trial (pass^k)."""
    trial_spread: float | None = None
    """With trials: the mean over items of the standard deviation of their trials' scores."""


class Summary(_Strict):
    """Totals for a run."""

    total_items: int
    """Items selected from the dataset."""
    trials: int
    """Runs per item."""
    completed: int
    """Item x trial pairs whose target call succeeded."""
    errors: int
    """Item x trial pairs whose target call failed or timed out."""
    failed_items: int = 0
    """Items with at least one failed trial: a target error, a scorer error, or a
    score below its scorer's pass threshold."""
    scores: dict[str, ScorerSummary]
    """Per scorer name."""
    duration_s: float
    """Wall time of the run."""
    usage: dict[str, float] = Field(default_factory=dict)
    """Token and cost totals, where the target reported them."""


class GateResult(_Strict):
    """One gate: a threshold on the summary, or a limit on the comparison with the baseline."""

    scorer: str
    """The scorer name (`*` for a gate on all scorers)."""
    metric: Literal["mean", "pass_rate", "failed_items", "errors", "regressed_items", "regression"]
    """What was compared: `mean` and `pass_rate` against a lowest acceptable
    value; `failed_items` (the gate of an eval without thresholds: every item
    must pass), `errors` (of the target, `*`, or of one scorer, with thresholds),
    `regressed_items` (items that regressed against the baseline)
    and `regression` (scorers whose verdict is `regressed`) against a highest one."""
    threshold: float
    """The lowest acceptable mean or pass rate, or the highest acceptable count."""
    actual: float | None
    """The run's value; null when no score was computed."""
    passed: bool
    """Whether the gate held."""


class ScoringPass(_Strict):
    """One `gitevals score` pass: scorers applied to the stored outputs of a
    finished run, without calling the target again."""

    started_at: str
    """UTC time the pass started, ISO 8601."""
    finished_at: str
    """UTC time its scores were merged into results.jsonl, ISO 8601."""
    user: str | None = None
    """Who ran it: `git config user.name`, else the login name."""
    scorers: list[str | dict[str, Any]]
    """The scorers applied, as recorded in `config.scorers`."""
    only_missing: bool = False
    """Only outputs that had no score of a scorer were scored."""
    scored: int
    """Scores added or replaced (item x trial x scorer), including `reused` ones."""
    errors: int = 0
    """Of those, how many are scorer errors."""
    skipped: int = 0
    """Of those, how many are skips (the scorer does not apply to the item)."""
    reused: int = 0
    """Scores taken from an interrupted pass's `scores.jsonl` instead of being computed again."""
    kept: int = 0
    """Existing scores left as they were (with `only_missing`)."""
    target_errors: int = 0
    """Item x trial results without output (the target failed), which get no scores."""
    replaced: list[str] = Field(default_factory=list)
    """Scorer names whose earlier scores were replaced; each keeps them in `history`."""
    copied_from: str | None = None
    """`<commit>:<path>` when the run was found only in git history and copied into
    the working tree to be scored."""


class RunManifest(_Strict):
    """run.json: what was run, where in history, and how it went."""

    schema_version: Literal[1] = 1
    """Format version of this file."""
    id: str
    """The run id: UTC time then a random suffix, so ids sort by time."""
    eval: str
    """The eval's name, or `adhoc` for runs made from the Python API."""
    dataset: str | None
    """The dataset's name."""
    status: Literal["running", "completed", "failed", "interrupted"]
    """`running` until the run ends."""
    started_at: str
    """UTC start time, ISO 8601."""
    finished_at: str | None = None
    """UTC end time, ISO 8601."""
    process: RunProcess | None = None
    """The process recording the run while it is `running`; null once it ended, and in
    runs recorded before gitevals wrote it."""
    git: GitInfo | None = None
    """Git state at the start; null outside a git repository."""
    dataset_path: str | None = None
    """The dataset file, relative to the repository or project root."""
    dataset_blob_sha: str | None = None
    """The git blob sha of the dataset file's content as it was run."""
    dataset_hash: str | None = None
    """sha256 over the ids and content hashes of every item in the dataset."""
    tags: list[str] = Field(default_factory=list)
    """The tag filter used."""
    config: dict[str, Any]
    """The resolved eval configuration; `${VAR}` references are kept unresolved."""
    versions: Versions
    """Software versions."""
    summary: Summary | None = None
    """Totals, written when the run ends."""
    gates: list[GateResult] = Field(default_factory=list)
    """Thresholds checked when the run ended."""
    error: str | None = None
    """Why the run failed or was interrupted."""
    shard: str | None = None
    """`I/N` when the run holds one deterministic slice of the items (`--shard`)."""
    resumed_at: list[str] = Field(default_factory=list)
    """UTC times the run was resumed (`--resume`), oldest first."""
    reused_from: str | None = None
    """The run whose unchanged results were copied (`--reuse`)."""
    only_failed_from: str | None = None
    """The run whose failed and errored items this run re-ran (`--only-failed`)."""
    merged_from: list[str] = Field(default_factory=list)
    """The shard runs this run was merged from (`gitevals runs merge`)."""
    scoring: list[ScoringPass] = Field(default_factory=list)
    """Scoring passes made after the run (`gitevals score`), oldest first."""
    notes: list[str] = Field(default_factory=list)
    """What the run could not use and did not count as an error (spans no item
    was waiting for, export requests that were not OTLP)."""

    @property
    def shard_slice(self) -> tuple[int, int] | None:
        """`shard` as (I, N), or None for a run of every item."""
        if not self.shard:
            return None
        index, _, count = self.shard.partition("/")
        return int(index), int(count)


class ErrorInfo(_Strict):
    """Why a target call or a scorer failed."""

    type: str
    """The exception class, or `timeout` / `exit_status` / `bad_output`."""
    message: str
    """What went wrong."""
    stderr: str | None = None
    """The end of a command target's standard error."""
    traceback: str | None = None
    """The innermost frames of a Python target's exception, as Python prints them."""
    where: str | None = None
    """`file:line in function` of the innermost frame: where the exception was raised."""


class _ScoreFields(_Strict):
    """What a scorer's verdict on one output holds."""

    value: float | None
    """In [0, 1]; null when the scorer failed."""
    passed: bool | None
    """Whether value reached the scorer's threshold; null when the scorer failed."""
    reason: str | None = None
    """Why, in words."""
    details: dict[str, Any] | None = None
    """Anything else the scorer reported."""
    error: ErrorInfo | None = None
    """Why the scorer failed."""
    skipped: bool = False
    """The scorer does not apply to this item (e.g. it needs `expected`); `reason` says why."""
    added_at: str | None = None
    """UTC time `gitevals score` added this score to the finished run; null when the run computed it."""


class ScoreRevision(_ScoreFields):
    """A score replaced by `gitevals score --replace`, kept so that nothing is lost."""

    scorer: str | dict[str, Any] | None = None
    """The spec of the scorer that made it, as it was recorded in `config.scorers`."""
    replaced_at: str
    """UTC time it was replaced, ISO 8601."""
    replaced_by: str | None = None
    """Who replaced it: `git config user.name`, else the login name."""


class ScoreRecord(_ScoreFields):
    """One scorer's verdict on one output."""

    history: list[ScoreRevision] = Field(default_factory=list)
    """Earlier scores under this name that `gitevals score --replace` replaced, oldest first."""


class ResultLine(_Strict):
    """One line of results.jsonl: one item x trial."""

    item_id: str
    """The dataset item's id."""
    trial: int
    """0-based trial number."""
    input: Any
    """The item's input."""
    expected: Any = None
    """The item's expected output."""
    context: dict[str, Any] = Field(default_factory=dict)
    """The item's context."""
    input_hash: str
    """sha256 of the canonical JSON of `input`."""
    expected_hash: str
    """sha256 of the canonical JSON of `expected`."""
    hash: str
    """sha256 over input, expected, context and expected trajectory."""
    output: Any = None
    """What the target returned; null on error."""
    error: ErrorInfo | None = None
    """Why the target call failed."""
    latency_ms: float
    """Time of the target call (the last attempt), in milliseconds."""
    attempts: int = 1
    """How many times the target was called."""
    scores: dict[str, ScoreRecord] = Field(default_factory=dict)
    """Per scorer name."""
    usage: dict[str, float] | None = None
    """Tokens and cost, when the target reported them."""
    trajectory: list[dict[str, Any]] | None = None
    """Tool calls and steps the target recorded."""
    metadata: dict[str, Any] | None = None
    """Anything else the target returned."""
    started_at: str
    """UTC time the item started, ISO 8601."""
    reused_from: str | None = None
    """The run this result was copied from (`--reuse`), when it was not run again."""


class ReviewLine(_Strict):
    """One line of reviews.jsonl: a person's judgement of one item x trial
    (`gitevals review`). Lines are only ever appended; the latest line for an
    item x trial supersedes the earlier ones, which are kept."""

    item_id: str
    """The dataset item's id."""
    trial: int = Field(default=0, ge=0)
    """0-based trial number."""
    reviewer: str | None = None
    """Who reviewed: `--reviewer`, else `git config user.name`, else the login name."""
    time: str
    """UTC time of the review, ISO 8601."""
    verdict: Literal["pass", "fail"] | None = None
    """Pass or fail; null when the reviewer gave a score instead, or no judgement yet."""
    score: float | None = Field(default=None, ge=0, le=1)
    """A score in [0, 1]; null when the reviewer gave a verdict instead."""
    comment: str | None = None
    """What the reviewer wrote about the output."""
    flagged: bool = False
    """Marked for a second look (`gitevals review --only flagged`)."""


SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "project": ProjectConfig,
    "dataset": DatasetFile,
    "eval": EvalConfig,
    "run": RunManifest,
    "result": ResultLine,
    "review": ReviewLine,
}
"""Schema file stem -> model, for `schemas/<stem>.schema.json`."""
