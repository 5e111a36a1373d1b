"""Plumbing for ``scripts/e2e.py``: processes, ports, bounded waits and the per-step report.

Nothing here knows about Airflow or ModelArts; it only makes sure that every process the e2e run
starts is stopped again and that no wait can hang.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

T = TypeVar("T")


class StepFailed(Exception):
    """An assertion of the e2e run did not hold; the message says which and what was seen."""


def check(condition: object, message: str) -> None:
    """Like ``assert`` but never stripped by ``python -O`` and always with a readable message."""
    if not condition:
        raise StepFailed(message)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 1.0) -> T:
    """Call ``probe`` until it returns something truthy and return that; fail after ``timeout`` s.

    Exceptions from ``probe`` count as "not yet" (a server that is still starting refuses
    connections), but the last one is reported if time runs out.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = probe()
            if result:
                return result
        except StepFailed:
            raise
        except Exception as error:  # noqa: BLE001 - any error means "not ready yet"
            last_error = error
        if time.monotonic() >= deadline:
            detail = f" (last error: {type(last_error).__name__}: {last_error})" if last_error else ""
            raise StepFailed(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file (empty if it does not exist)."""
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 200_000))
            text = file.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class ManagedProcess:
    """A child process in its own session, so that it and everything it forks can be stopped together."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left after ``grace`` seconds.

        The group id is the child's own pid (``start_new_session``), so this only reaches
        processes this run started: the Airflow API server's uvicorn workers, the scheduler's
        executor workers and task supervisors, and so on.
        """
        pgid = self.popen.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)
        # Grandchildren may outlive the leader; the group is gone once killpg finds nobody.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)


@dataclass
class ProcessGroup:
    """Every process the run started, stopped in reverse order by :meth:`stop_all`."""

    log_dir: Path
    processes: list[ManagedProcess] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> ManagedProcess:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        log: IO[bytes] = log_path.open("wb")
        try:
            popen = subprocess.Popen(
                list(argv),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()  # the child holds its own copy of the descriptor
        process = ManagedProcess(name, popen, log_path)
        self.processes.append(process)
        return process

    def restart(
        self, name: str, new_name: str, argv: Sequence[str], env: dict[str, str] | None = None
    ) -> ManagedProcess:
        """Stop the process called ``name`` and start ``argv`` in its place, logging to ``new_name``.log
        (the first log stays, to read what the stopped process did)."""
        old = next((process for process in self.processes if process.name == name), None)
        if old is None:
            raise StepFailed(f"no process called {name} to restart")
        old.stop()
        self.processes.remove(old)
        return self.start(new_name, argv, env)

    def check_alive(self) -> None:
        """Fail early, with the culprit named, when a server died instead of waiting for a timeout."""
        for process in self.processes:
            if not process.alive():
                raise StepFailed(f"{process.name} exited with code {process.popen.returncode}")

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def print_logs(self, lines: int = 40) -> None:
        for process in self.processes:
            print(f"\n----- last {lines} lines of {process.log_path} ({process.name}) -----")
            print(tail(process.log_path, lines) or "(empty)")


@dataclass
class Step:
    title: str
    action: Callable[[], None]


@dataclass
class StepReport:
    """Runs the steps in order, one PASS/FAIL line each; after a failure the rest are skipped (they depend on it)."""

    results: list[tuple[str, bool, float, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def run(self, steps: Sequence[Step]) -> bool:
        for index, step in enumerate(steps):
            try:
                passed = self._run_one(step)
            except KeyboardInterrupt:
                self.skipped = [later.title for later in steps[index + 1 :]]
                raise
            if not passed:
                self.skipped = [later.title for later in steps[index + 1 :]]
                return False
        return True

    def _run_one(self, step: Step) -> bool:
        print(f"\n=== {step.title}", flush=True)
        started = time.monotonic()
        try:
            step.action()
        except KeyboardInterrupt:
            self.results.append((step.title, False, time.monotonic() - started, "interrupted"))
            raise
        except Exception as error:
            # StepFailed and Playwright's expect() failures (AssertionError) explain themselves; anything
            # else is a bug or an environment problem, so its traceback is worth printing.
            if not isinstance(error, (StepFailed, AssertionError)):
                traceback.print_exc()
            detail = str(error) if isinstance(error, StepFailed) else f"{type(error).__name__}: {error}"
            self.results.append((step.title, False, time.monotonic() - started, detail))
            print(f"FAIL  {step.title}: {detail}", flush=True)
            return False
        seconds = time.monotonic() - started
        self.results.append((step.title, True, seconds, ""))
        print(f"PASS  {step.title} ({seconds:.1f} s)", flush=True)
        return True

    @property
    def ok(self) -> bool:
        return bool(self.results) and not self.skipped and all(passed for _, passed, _, _ in self.results)

    def print_summary(self, total_seconds: float) -> None:
        print("\n================ e2e summary ================")
        for title, passed, seconds, detail in self.results:
            print(f"{'PASS' if passed else 'FAIL'}  {title} ({seconds:.1f} s)")
            if detail:
                # The first line says what failed; the full message was printed with the step.
                print(f"      {detail.strip().splitlines()[0]}")
        for title in self.skipped:
            print(f"SKIP  {title} (not reached)")
        verdict = "PASSED" if self.ok else "FAILED"
        print(f"e2e {verdict} in {total_seconds:.0f} s", flush=True)
