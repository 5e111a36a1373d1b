"""What the v1 and the v2 sensor share: how ``soft_fail`` and ``never_fail`` end a wait, how a
verdict's message is worded, and the plumbing around each sensor's own check (one hook for the
pokes of a try, poke or deferral, the resume), so both sensors (in every mode) say the same thing
the same way."""

from __future__ import annotations

import warnings
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    AirflowTaskTimeout,
)
from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_modelarts.exceptions import sentence
from airflow_provider_modelarts.utils.mixins import ModelArtsTaskMixin, own_init
from airflow_provider_modelarts.version_compat import TaskDeferralTimeout

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_modelarts.hooks.modelarts import ModelArtsHook

__all__ = ["SOFT_FAIL_ERRORS", "ModelArtsBaseSensor", "sentence", "skip_or_raise"]

# The errors Airflow's own soft_fail turns into a skip: those a retry cannot fix, and timeouts.
SOFT_FAIL_ERRORS = (AirflowFailException, AirflowSensorTimeout, AirflowTaskTimeout)


def skip_or_raise(error: BaseException, *, soft_fail: bool, never_fail: bool) -> NoReturn:
    """Apply ``soft_fail`` and ``never_fail`` the same way in every mode, keeping the reason.

    Airflow's own rules for an exception from ``poke``: ``soft_fail`` skips on an error a retry
    cannot fix, ``never_fail`` skips on any error, and anything else fails the task.
    """
    if soft_fail and isinstance(error, SOFT_FAIL_ERRORS):
        raise AirflowSkipException(f"Skipping due to soft_fail: {error}") from error
    if never_fail and not isinstance(error, AirflowSkipException):
        raise AirflowSkipException(f"Skipping due to never_fail: {error}") from error
    raise error


class ModelArtsBaseSensor(ModelArtsTaskMixin, BaseSensorOperator):
    """The base of the ModelArts sensors: everything around one check of the job.

    A subclass supplies ``_poke_result`` (one check: the XCom value once the wait succeeded, else
    ``None``), ``_check_then_defer`` (the deferrable mode: check once, then defer to its trigger)
    and ``_timed_out`` (a timeout worded with what the last check saw). This class then gives poke
    and reschedule mode through Airflow's ``BaseSensorOperator.execute``, one hook (one session,
    one IAM token) for all the checks of a try, and ``soft_fail``/``never_fail`` applied with the
    reason kept, in every mode and on resume.
    """

    deferrable: bool

    # The mixin's keywords as this class's own, for Airflow's default_args and .partial() checks.
    __init__ = own_init(ModelArtsTaskMixin.__init__)

    def _warn_if_reschedule_has_no_effect(self) -> None:
        """Called at the end of ``__init__``. Not refused: ``[operators] default_deferrable`` may
        turn deferrable on for every sensor of a deployment."""
        if self.deferrable and self.mode == "reschedule":
            warnings.warn(
                f"{type(self).__name__} {self.task_id!r}: mode='reschedule' has no effect with "
                "deferrable=True; the sensor waits in the triggerer, which frees the worker slot already. "
                "Drop mode='reschedule', or set deferrable=False to reschedule instead.",
                UserWarning,
                # The user's DAG file: past this method, the sensor's __init__ and Airflow's wrapper.
                stacklevel=4,
            )

    # ------------------------------------------------------------------ what a subclass supplies

    def _poke_result(self, context: Context) -> dict[str, Any] | None:
        """One check: the XCom value once the wait succeeded, ``None`` while it goes on."""
        raise NotImplementedError

    def _check_then_defer(self, context: Context) -> Any:
        """The deferrable mode: the result of a first check that finished the wait, or a deferral."""
        raise NotImplementedError

    def _timed_out(self, error: BaseException) -> AirflowSensorTimeout:
        """Airflow's timeout of the wait (``error``), worded as the deferrable mode words it."""
        raise NotImplementedError

    def _deferral_timed_out(self, error: TaskDeferralTimeout) -> AirflowSensorTimeout:
        """The deferral's own timeout beat the trigger's timeout event (the resumed task is a new
        object: only what the deferring try stored is known)."""
        return self._timed_out(error)

    def _before_resume(self, context: Context) -> None:
        """Read back, on resume, what the deferring try stored for the resumed task."""

    # ------------------------------------------------------------------ the plumbing

    @cached_property
    def _poke_hook(self) -> ModelArtsHook:
        return self.hook()

    def _close_poke_hook(self) -> None:
        if "_poke_hook" in self.__dict__:
            self.__dict__.pop("_poke_hook").close()

    def _skip_or_raise(self, error: BaseException) -> NoReturn:
        skip_or_raise(error, soft_fail=self.soft_fail, never_fail=self.never_fail)

    def poke(self, context: Context) -> PokeReturnValue:
        try:
            result = self._poke_result(context)
        except Exception as error:
            # Here rather than in BaseSensorOperator.execute, whose soft_fail skip drops the reason.
            self._skip_or_raise(error)
        return PokeReturnValue(is_done=result is not None, xcom_value=result)

    def execute(self, context: Context) -> Any:
        try:
            if self.deferrable:
                return self._check_then_defer(context)
            return self._wait_in_worker(context)
        finally:
            self._close_poke_hook()

    def _wait_in_worker(self, context: Context) -> Any:
        """Poke or reschedule mode: Airflow's loop of pokes, with its timeout worded as ours."""
        try:
            return super().execute(context)
        except AirflowSensorTimeout as error:
            self._skip_or_raise(self._timed_out(error))
        except AirflowSkipException as error:
            # BaseSensorOperator.execute skips a timeout under soft_fail with its own wording
            # and no cause; every skip that poke raises has its cause.
            if not (self.soft_fail and error.__cause__ is None):
                raise
            self._skip_or_raise(self._timed_out(error))

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Resume after the deferral, with ``soft_fail``/``never_fail`` applied as in poke mode.

        BaseSensorOperator.resume_execution skips on any AirflowException under ``soft_fail``,
        including a transient ``error`` event; poke mode fails the task then, so its retries apply.
        """
        self._before_resume(context)
        try:
            try:
                # BaseOperator's: dispatch to execute_complete, or raise what the trigger's failure was.
                return super(BaseSensorOperator, self).resume_execution(next_method, next_kwargs, context)
            except TaskDeferralTimeout as error:
                raise self._deferral_timed_out(error) from error
        except Exception as error:
            self._skip_or_raise(error)
