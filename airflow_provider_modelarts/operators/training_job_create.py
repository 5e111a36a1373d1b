"""``ModelArtsCreateTrainingJobOperator``: submit a v2 training job, wait for it, stream its logs."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, NoReturn

import pendulum
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, conf

from airflow_provider_modelarts.cloud import v2
from airflow_provider_modelarts.cloud.v2.create import ValidatedJob
from airflow_provider_modelarts.cloud.validation import (
    positive_seconds,
    validate_flag,
)
from airflow_provider_modelarts.exceptions import ModelArtsNotFoundError, sentence
from airflow_provider_modelarts.links import (
    CONSOLE_LINK_ATTRIBUTE,
    ModelArtsConsoleLink,
    console_job_url,
    persist_console_link,
    restore_console_link,
)
from airflow_provider_modelarts.operators.base import _ModelArtsOperator
from airflow_provider_modelarts.utils.assets import publish_to_outlets, training_job_extra
from airflow_provider_modelarts.utils.mixins import clear_number, resolved_at_runtime, task_instance_key
from airflow_provider_modelarts.utils.submission import (
    Action,
    Plan,
    TaskInstanceIdentity,
    plan_try,
    stop_earlier,
    submit,
    terminate_quietly,
    validate_on_name_conflict,
    with_recorded_annotations,
    workspace_for,
)
from airflow_provider_modelarts.utils.xcom import XComFields, validate_xcom_fields, warn_missing_fields
from airflow_provider_modelarts.version_compat import AirflowTaskTerminated, TaskDeferralTimeout, task_state_store
from airflow_provider_modelarts.waiting.check import check_phase
from airflow_provider_modelarts.waiting.conditions import PhaseWaitCondition
from airflow_provider_modelarts.waiting.logs import JobLogFollower, format_log_tail, read_log_tail
from airflow_provider_modelarts.waiting.outage import DEFAULT_MAX_OUTAGE, Outage, validate_max_outage

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook
    from airflow_provider_modelarts.utils.lineage import TrainingJobLineage

# Between two checks of the synchronous wait (tests replace it with the emulator's clock).
sleep = time.sleep
#: The XCom key holding the id of the job the task created (pushed before the wait).
TRAINING_JOB_ID_XCOM_KEY = "training_job_id"
#: The task-state key (Airflow 3.3+) of the job this task instance created.
SUBMITTED_JOB_STATE_KEY = "modelarts_submitted_training_job"


class ModelArtsTrainingJobFailedError(AirflowException):
    """The training job ended in a failure phase. A task retry creates a new job (see the operator)."""


class ModelArtsCreateTrainingJobOperator(_ModelArtsOperator):
    """Create a v2 ModelArts training job, wait until it ends, and stream its logs into the task log.

    The body is checked before any request (a literal one when the DAG is parsed). A task instance
    trains once across retries, crashes and lost answers: a retry reconnects to its earlier job
    (or creates a new one after a failed job), a Clear trains again. The job id is recorded (XCom
    ``training_job_id``, the console link, the task state store) before the wait; a failed job
    fails the try with its exit codes, log tail and last events; the XCom ``return_value`` is a
    compact summary. Asset events of ``outlets`` carry the job's id, phase and outputs
    (:mod:`~airflow_provider_modelarts.utils.assets`).

    .. seealso:: docs/durable-execution.md (one job per task instance, the wait, logs, kill, XCom)

    :param job: the create body (templated; rendered as JSON in the UI).
    :param wait_for_completion: wait until the job ends (default); ``False`` returns once created.
    :param deferrable: wait in the triggerer instead of a worker slot (default:
        ``[operators] default_deferrable``).
    :param poll_interval: seconds between checks of the job (default 60).
    :param max_outage: how long a run of failed checks is ridden out: a ``timedelta`` or seconds
        (default 15 minutes).
    :param print_log: stream the job's task logs into the task log (default True).
    :param terminate_on_kill: terminate the job when the task is killed (default True).
    :param on_name_conflict: ``"fail"`` (default) or ``"suffix"``: what to do when the job's name
        is taken by a job this task did not create.
    :param xcom_fields: ``None`` (the compact summary), ``"all"`` (the job object) or field names.
    :param workspace_id: the workspace the create's name lookup and the shared search look in
        (templated; default: the connection's).

    The connection and API-retry arguments (``modelarts_conn_id``, ``region``, ``project_id``,
    ``modelarts_retry_*``) are those of :class:`~airflow_provider_modelarts.utils.mixins.ModelArtsTaskMixin`.
    """

    template_fields: Sequence[str] = ("job", "modelarts_conn_id", "region", "project_id", "workspace_id")
    template_fields_renderers = {"job": "json"}
    operator_extra_links = (ModelArtsConsoleLink(),)
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        job: dict[str, Any],
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 60.0,
        max_outage: timedelta | float = DEFAULT_MAX_OUTAGE,
        print_log: bool = True,
        terminate_on_kill: bool = True,
        on_name_conflict: str = "fail",
        xcom_fields: Sequence[str] | str | None = None,
        workspace_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for name, value in (
            ("wait_for_completion", wait_for_completion),
            ("deferrable", deferrable),
            ("poll_interval", poll_interval),
            ("max_outage", max_outage),
            ("print_log", print_log),
            ("terminate_on_kill", terminate_on_kill),
            ("on_name_conflict", on_name_conflict),
            ("xcom_fields", xcom_fields),
        ):
            self.require_literal(value, name)
        # A literal body is checked now (DAG parse time); one with templates or XComArgs once rendered.
        if not _resolved_at_runtime_anywhere(job):
            v2.validate_job_create(job)
        self.job = job
        self.wait_for_completion = validate_flag(wait_for_completion, "wait_for_completion")
        self.deferrable = validate_flag(deferrable, "deferrable")
        self.poll_interval = positive_seconds(poll_interval, "poll_interval")
        self.max_outage = validate_max_outage(max_outage)
        self.print_log = validate_flag(print_log, "print_log")
        self.terminate_on_kill = validate_flag(terminate_on_kill, "terminate_on_kill")
        self.on_name_conflict = validate_on_name_conflict(on_name_conflict)
        self.xcom_fields: XComFields = validate_xcom_fields(xcom_fields)
        if workspace_id is not None and not resolved_at_runtime(workspace_id):
            v2.validate_workspace_id(workspace_id)
        self.workspace_id = workspace_id
        # Set once the job is known: on_kill terminates it; lineage reads the job's data.
        self.training_job_id: str | None = None
        # Set by on_kill (Airflow calls it from its SIGTERM handler, then lets execute run on
        # until it kills the process): a create answered after it, and the wait, stop at once.
        self._killed = False
        self._terminated_on_kill = False
        self._last_job: dict[str, Any] | None = None
        self._job_workspace: str | None = None
        # This try's log follower, once made (the failure tail reads the API it settled on).
        self._logs: JobLogFollower | None = None

    # ------------------------------------------------------------------ submit or reconnect

    def execute(self, context: Context) -> Any:
        body = ValidatedJob.validate(self.job)  # once per try: the hook sends it as it is
        if self.workspace_id is not None:
            self.workspace_id = v2.validate_workspace_id(self.workspace_id)
        hook = self.hook(self.workspace_id)
        try:
            job, plan = self._submit(context, hook, body)
            if plan.action is Action.ALREADY_COMPLETED:
                # An earlier try's job Completed while no task watched it (a crash, a lost worker):
                # its log is printed here, or the end of it would be in no task log.
                self._poll_logs(self._log_follower(hook), job)
                return self._published(context, self._result(job, hook))
            if not self.wait_for_completion:
                return self._published(context, self._result(job))
            return self._published(context, self._wait(context, hook))
        finally:
            hook.close()

    def _published(self, context: Context, result: Any) -> Any:
        """``result``, once the job's id, phase and outputs are on the outlets' asset events."""
        publish_to_outlets(context, self.outlets, training_job_extra(self._last_job, self._console_url()))
        return result

    def _submit(self, context: Context, hook: ModelArtsHook, body: ValidatedJob) -> tuple[dict[str, Any], Plan]:
        """Plan the try and create or reconnect (:mod:`~airflow_provider_modelarts.utils.submission`)."""
        ti = context["ti"]
        identity = TaskInstanceIdentity(
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            run_id=ti.run_id,
            map_index=ti.map_index if ti.map_index is not None else -1,
            try_number=ti.try_number,
            max_tries=ti.max_tries,
            clear_number=clear_number(context),
        )
        body, self._job_workspace = workspace_for(body, self.workspace_id, lambda: hook.settings.workspace_id)
        stored = partial(self._stored_job, context, hook)
        plan = plan_try(hook, body, identity, self._job_workspace, stored, self.on_name_conflict)
        stop_earlier(hook, plan, self.terminate_on_kill, self.log)
        self.log.info(sentence(plan.reason))
        name = str(body["metadata"]["name"])
        job, annotations = submit(hook, plan, name, identity, self.on_name_conflict, self.log)
        self._record(context, hook, job, annotations)
        self._stop_if_killed()
        return job, plan

    def _stop_if_killed(self) -> None:
        """After ``on_kill`` ran: terminate a job whose create was answered after it, and stop waiting."""
        if not self._killed:
            return
        if self.training_job_id is not None and self.terminate_on_kill and not self._terminated_on_kill:
            hook = self.hook(self.workspace_id)
            try:
                terminate_quietly(hook, self.training_job_id, self.log)
            finally:
                hook.close()
        raise AirflowTaskTerminated(f"The task was killed while it managed training job {self.training_job_id}")

    def _stored_job(self, context: Context, hook: ModelArtsHook) -> dict[str, Any] | None:
        """The job the task state store (Airflow 3.3+) names, read again, with its recorded
        annotations; ``None`` if none or gone."""
        store = task_state_store(context)
        record = store.get(SUBMITTED_JOB_STATE_KEY) if store is not None else None
        job_id = record.get("training_job_id") if isinstance(record, dict) else None
        if not isinstance(job_id, str) or not isinstance(record, dict):
            return None
        try:
            job = hook.get_training_job(job_id)
        except ModelArtsNotFoundError:
            return None  # deleted since: as if there were none
        return with_recorded_annotations(job, record)

    def _record(self, context: Context, hook: ModelArtsHook, job: dict[str, Any], annotations: dict[str, str]) -> None:
        """Keep the job id before waiting: XCom, console link, task state store; ``on_kill`` uses it."""
        row = v2.job_row(job)
        self.training_job_id = str(row["id"])
        self._last_job = job
        context["ti"].xcom_push(key=TRAINING_JOB_ID_XCOM_KEY, value=self.training_job_id)
        persist_console_link(context, hook, self.training_job_id, None, operator=self)
        store = task_state_store(context)
        if store is not None:
            # With the annotations it was created with: the planner needs them if the service drops them.
            store.set(
                SUBMITTED_JOB_STATE_KEY,
                {"training_job_id": self.training_job_id, "name": row["name"], "annotations": annotations},
            )

    # ------------------------------------------------------------------ waiting

    def _condition(self) -> PhaseWaitCondition:
        assert self.training_job_id is not None
        # The defaults: Completed is the target, every other terminal phase a failure.
        return PhaseWaitCondition.validate(self.training_job_id)

    def _wait(self, context: Context, hook: ModelArtsHook) -> Any:
        """Wait for the job: one check per ``poll_interval`` here, logs followed; deferrable, only
        the first check (a job already ended needs no triggerer), then the phase trigger waits."""
        condition = self._condition()
        outage = Outage(self.max_outage)
        logs = self._log_follower(hook)
        while True:
            verdict, message, current = check_phase(hook, condition, outage, self.log)
            self._stop_if_killed()  # a job on_kill terminated is not a job that failed by itself
            if current is not None:
                self._last_job = current
                self._poll_logs(logs, current)
                if verdict != "waiting":
                    return self._finish(hook, verdict, message, current)
            if self.deferrable:
                self._defer(context, condition, outage, logs)
            sleep(self.poll_interval)

    def _defer(
        self, context: Context, condition: PhaseWaitCondition, outage: Outage, logs: JobLogFollower | None
    ) -> NoReturn:
        from airflow_provider_modelarts.triggers.training_job_phase import (
            ModelArtsTrainingJobPhaseTrigger,
            log_xcom_for,
        )

        log_state = logs.state() if logs is not None else None
        self.defer(
            trigger=ModelArtsTrainingJobPhaseTrigger(
                training_job_id=condition.training_job_id,
                target_phases=condition.scheme.ordered(condition.target_statuses),
                failure_phases=condition.scheme.ordered(condition.failure_statuses),
                **self.trigger_connection_args(),
                workspace_id=self._job_workspace,  # where the shared search finds the job
                poll_interval=self.poll_interval,
                end_time=None,
                max_outage=self.max_outage,
                outage_started_at=outage.started_at,
                print_log=self.print_log,
                log_state=log_state,
                log_xcom=log_xcom_for(context["ti"], log_state) if self.print_log else None,
                terminate_on_kill=self.terminate_on_kill,
                task_instance=task_instance_key(context["ti"]) if self.terminate_on_kill else None,
            ),
            method_name="execute_complete",
            # Airflow bounds a deferral only by the timeout it is given: the rest of execution_timeout.
            timeout=self._remaining_execution_time(context),
        )

    def _remaining_execution_time(self, context: Context) -> timedelta | None:
        if self.execution_timeout is None:
            return None
        started = getattr(context["ti"], "start_date", None)
        spent = pendulum.now("UTC") - started if started is not None else timedelta(0)
        return max(self.execution_timeout - spent, timedelta(seconds=1))

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Resume after the deferral; a deferral that timed out terminates the job, as on a kill."""
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except TaskDeferralTimeout:
            if self.training_job_id is None:
                ti = context["ti"]
                job_id = ti.xcom_pull(task_ids=self.task_id, key=TRAINING_JOB_ID_XCOM_KEY, map_indexes=ti.map_index)
                self.training_job_id = job_id if isinstance(job_id, str) else None
            self.on_kill()
            raise

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger's event (in a new process): return the result, or raise."""
        restore_console_link(self, context)
        if not event:
            raise AirflowException("The ModelArts trigger ended without an event")
        self.training_job_id = str(event.get("training_job_id") or "") or self.training_job_id
        status, message = event.get("status"), sentence(str(event.get("message", "")))
        summary = event.get("summary")
        if status in ("success", "failed") and isinstance(summary, dict):
            # Read only for a failure: the failure tail is the one log read after the trigger.
            self._trigger_switched_to_preview = status == "failed" and _switched_to_preview(context)
            hook = self.hook(self.workspace_id)
            try:
                job = hook.get_training_job(str(self.training_job_id)) if self.xcom_fields == "all" else None
                self._last_job = job or _job_from_summary(summary)
                verdict = "success" if status == "success" else "failed"
                return self._published(context, self._finish(hook, verdict, message, self._last_job))
            finally:
                hook.close()
        if status == "failed":
            # No job read (it does not exist, or an error no retry can fix): as in the worker's wait.
            raise AirflowFailException(message)
        # "error": an outage outlasted max_outage; this fails the try, so task retries apply.
        raise AirflowException(message)

    def _finish(self, hook: ModelArtsHook, verdict: str, message: str, job: dict[str, Any]) -> Any:
        if verdict == "success":
            self.log.info(message)
            return self._result(job, hook)
        self._fail(hook, message, job)

    def _fail(self, hook: ModelArtsHook, message: str, job: dict[str, Any]) -> NoReturn:
        """Fail with the verdict's message, each task's log tail and the job's last events (a read
        that fails leaves its part out; the failure is raised all the same)."""
        # Where this try's follower learned that AOM does not exist here, the tail asks the preview only.
        # (or the trigger's follower, whose state it left in the task's XCom).
        switched = (self._logs is not None and self._logs.switched) or self.__dict__.get("_trigger_switched_to_preview")
        known = v2.LOG_API_PREVIEW if switched else None
        tail = format_log_tail(read_log_tail(hook, str(self.training_job_id), v2.job_row(job)["tasks"], known))
        full = f"{message}\nLast lines of the job's log:\n{tail}" if tail else message
        events = self._last_events(hook)
        if events:
            full += "\nLast events:\n" + "\n".join(events)
        self.log.error(full)
        raise ModelArtsTrainingJobFailedError(full)

    def _last_events(self, hook: ModelArtsHook) -> list[str]:
        """The job's last :data:`FAILURE_EVENTS` events, oldest first, one ``<time> <level>
        [<source>] <message>`` line each (one request); none if they cannot be read."""
        try:
            events = hook.list_training_job_events(str(self.training_job_id), limit=FAILURE_EVENTS, order="desc")
        except Exception as error:  # never hide the failure behind its events
            self.log.warning("Could not read the training job's events: %s", error)
            return []
        # Asked newest first; shown in the order they happened.
        return [_cut(v2.format_event(event), _EVENT_LINE_MAX) for event in reversed(events[:FAILURE_EVENTS])]

    # ------------------------------------------------------------------ logs, result, kill

    def _log_follower(self, hook: ModelArtsHook) -> JobLogFollower | None:
        if not self.print_log or self.training_job_id is None:
            return None
        self._logs = JobLogFollower(hook, self.training_job_id, self.log.info)
        return self._logs

    def _poll_logs(self, logs: JobLogFollower | None, job: dict[str, Any]) -> None:
        if logs is not None:
            logs.poll_or_warn(job, self.log.warning)

    def _result(self, job: dict[str, Any], hook: ModelArtsHook | None = None) -> Any:
        """The XCom value: the compact summary (with ``best_trial`` for an auto search job that
        ended, ``hook`` given), the job object, or chosen fields."""
        if self.xcom_fields == "all":
            return job
        summary = compact_summary(job, self._console_url())
        if hook is not None and (self.xcom_fields is None or "best_trial" in self.xcom_fields):
            self._add_best_trial(hook, job, summary)
        if self.xcom_fields is None:
            return summary
        warn_missing_fields(self.log, [summary], self.xcom_fields, "the job's summary")
        return {name: summary[name] for name in self.xcom_fields if name in summary}

    def _add_best_trial(self, hook: ModelArtsHook, job: Mapping[str, Any], summary: dict[str, Any]) -> None:
        """``best_trial``: the trial with the best reward (see :func:`v2.best_trial`), ``None``
        when none has one or the trials cannot be read; only for a job that searched."""
        body = self.job if isinstance(self.job, Mapping) else {}
        auto_search = v2.auto_search_of(body) or v2.auto_search_of(job)
        if auto_search is None or self.training_job_id is None:
            return
        try:
            trials = hook.list_auto_search_trials(self.training_job_id)
        except Exception as error:  # the result of a finished training never fails over its trials
            self.log.warning("Could not read the auto search trials: %s", error)
            summary["best_trial"] = None
            return
        dropped = add_best_trial(summary, v2.best_trial(trials, auto_search), auto_search)
        if dropped:
            self.log.warning(
                "The best trial's row was trimmed to keep the XCom under %d bytes; left out: %s "
                "(ModelArtsHook.list_auto_search_trials gives whole rows)",
                COMPACT_XCOM_LIMIT_BYTES,
                ", ".join(repr(name) for name in dropped),
            )

    def _console_url(self) -> str | None:
        value = getattr(self, CONSOLE_LINK_ATTRIBUTE, None)
        if isinstance(value, dict) and value.get("job_id"):
            return console_job_url(value["console_url"], value["job_id"], None)
        return None

    def on_kill(self) -> None:
        """Terminate the job when the task is killed, marked failed or success, or times out (a
        create answered later is terminated by :meth:`_stop_if_killed`; docs/durable-execution.md)."""
        self._killed = True
        if not self.terminate_on_kill or self.training_job_id is None:
            return
        self._terminated_on_kill = True
        hook = self.hook(self.workspace_id)
        try:
            terminate_quietly(hook, self.training_job_id, self.log)
        finally:
            hook.close()

    # ------------------------------------------------------------------ OpenLineage

    def get_openlineage_facets_on_complete(self, task_instance: object) -> TrainingJobLineage:
        """The job's OBS and dataset inputs and OBS outputs (no API call), with its id in a run facet."""
        from airflow_provider_modelarts.utils.lineage import training_job_lineage

        return training_job_lineage(self.job, self._last_job, self.training_job_id)

    def get_openlineage_facets_on_failure(self, task_instance: object) -> TrainingJobLineage:
        return self.get_openlineage_facets_on_complete(task_instance)


#: The most the default XCom value may weigh (serialised as JSON).
COMPACT_XCOM_LIMIT_BYTES = 4096
# Per-task exit codes kept when a job has so many tasks that all of them would pass that limit.
_MOST_TASK_STATUSES = 32


def compact_summary(job: Mapping[str, Any], console_url: str | None) -> dict[str, Any]:
    """What the operator pushes by default (at most 4 KB): past the limit, only the tasks that did
    not exit 0 are kept (the first 32), with ``task_count`` saying how many there were."""
    summary = _compact(job, console_url)
    if len(json.dumps(summary)) > COMPACT_XCOM_LIMIT_BYTES:
        statuses = summary["task_statuses"]
        summary["task_count"] = len(statuses)
        summary["task_statuses"] = [entry for entry in statuses if entry["exit_code"] != 0][:_MOST_TASK_STATUSES]
    return summary


#: Events a failure message quotes, and the most characters of each line.
FAILURE_EVENTS = 5
_EVENT_LINE_MAX = 500


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 3] + "..."


def add_best_trial(summary: dict[str, Any], row: Mapping[str, Any] | None, auto_search: Mapping[str, Any]) -> list[str]:
    """Put ``row`` in ``summary`` as ``best_trial``, keeping the summary within
    :data:`COMPACT_XCOM_LIMIT_BYTES`: past it, the row's columns are left out, the largest first
    among those that say least (``trial_id``, the reward columns and ``config`` go last), and
    ``best_trial_trimmed`` names them. Returns the columns left out."""
    summary["best_trial"] = dict(row) if row is not None else None
    if row is None or len(json.dumps(summary, default=str)) <= COMPACT_XCOM_LIMIT_BYTES:
        return []
    name, _ = v2.reward_of(auto_search)
    keep = ["trial_id", *v2.REWARD_COLUMNS, *([name] if name else []), "config"]
    trial = dict(row)

    def weight(column: str) -> tuple[int, int]:
        # Columns outside keep go first, then keep's from its end; the largest first among equals.
        rank = keep.index(column) if column in keep else len(keep)
        return (rank, len(json.dumps(trial[column], default=str)))

    dropped: list[str] = []
    summary["best_trial_trimmed"] = dropped
    while trial and len(json.dumps(summary, default=str)) > COMPACT_XCOM_LIMIT_BYTES:
        column = max(trial, key=weight)
        del trial[column]
        dropped.append(column)
        summary["best_trial"] = trial
    return dropped


def _compact(job: Mapping[str, Any], console_url: str | None) -> dict[str, Any]:
    summary = v2.job_summary(job)
    return {
        "id": summary["id"],
        "name": summary["name"],
        "phase": summary["phase"],
        "secondary_phase": summary["secondary_phase"],
        "duration": summary["duration"],
        "task_statuses": [{"task": s["task"], "exit_code": s["exit_code"]} for s in summary["task_statuses"]],
        "outputs": summary["outputs"],
        "console_url": console_url,
    }


def _job_from_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A job object with what a summary holds (the trigger's event carries the summary only)."""
    return {
        "metadata": {"id": summary.get("id"), "name": summary.get("name"), "create_time": summary.get("create_time")},
        "status": {
            "phase": summary.get("phase"),
            "secondary_phase": summary.get("secondary_phase"),
            "duration": summary.get("duration"),
            "start_time": summary.get("start_time"),
            "tasks": summary.get("tasks") or [],
            "task_statuses": summary.get("task_statuses") or [],
        },
        "algorithm": {
            "outputs": [
                {"name": name, "remote": {"obs": {"obs_url": url}}}
                for name, url in (summary.get("outputs") or {}).items()
            ]
        },
        "spec": {"resource": {"flavor_id": summary.get("flavor"), "node_count": summary.get("node_count")}},
    }


def _switched_to_preview(context: Context) -> bool:
    """Whether the trigger's log follower found that this cloud has no AOM log endpoint (its saved
    state, in the task's XCom, says so): the failure tail then asks the log preview only."""
    from airflow_provider_modelarts.triggers.training_job_phase import LOG_STATE_XCOM_KEY

    ti = context["ti"]
    try:
        state = ti.xcom_pull(task_ids=ti.task_id, key=LOG_STATE_XCOM_KEY, map_indexes=ti.map_index)
    except Exception:  # the tail is a convenience: AOM is asked first, as without the state
        return False
    return isinstance(state, dict) and JobLogFollower.saved_state_switched(state)


def _resolved_at_runtime_anywhere(value: object) -> bool:
    """Whether ``value`` or anything nested in it is resolved by Airflow at run time."""
    if resolved_at_runtime(value):
        return True
    if isinstance(value, Mapping):
        return any(
            _resolved_at_runtime_anywhere(key) or _resolved_at_runtime_anywhere(item) for key, item in value.items()
        )
    if isinstance(value, (list, tuple)):
        return any(_resolved_at_runtime_anywhere(item) for item in value)
    return False
