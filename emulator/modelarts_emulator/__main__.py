"""Command line (``modelarts-emulator`` or ``python -m modelarts_emulator``): run the emulator
until SIGTERM or SIGINT.

Prints one JSON line ``{"url", "ca_bundle", "project_id", "access_key"}`` on stdout once it
serves (and writes the same to ``--ready-file``), so a script can wait for it and read the URL.
Secrets (SK, passwords) are never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import TextIO

from modelarts_emulator.config import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_DOMAIN_NAME,
    DEFAULT_HOST,
    DEFAULT_IAM_USER_NAME,
    DEFAULT_IAM_USER_PASSWORD,
    DEFAULT_IDP_ID,
    DEFAULT_JOB_COUNT,
    DEFAULT_LOG_PREVIEW_MAX_BYTES,
    DEFAULT_PASSWORD,
    DEFAULT_PORT,
    DEFAULT_PROJECT_ID,
    DEFAULT_SECRET_KEY,
    DEFAULT_SECURITY_TOKEN,
    DEFAULT_SEED,
    DEFAULT_SPEED,
    DEFAULT_TEMP_ACCESS_KEY,
    DEFAULT_TEMP_SECRET_KEY,
    DEFAULT_TOKEN_TTL_SECONDS,
    DEFAULT_USER_NAME,
    DEFAULT_V2_JOB_COUNT,
    EmulatorConfig,
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    # The console script (modelarts-emulator) or ``python -m modelarts_emulator``.
    console_script = os.path.basename(sys.argv[0]) == "modelarts-emulator"
    parser = argparse.ArgumentParser(
        prog="modelarts-emulator" if console_script else "python -m modelarts_emulator",
        description=(
            "Local emulator of the ModelArts v1 and v2 training-job APIs, the v1 model and service APIs "
            "(/v1/{project_id}/models, /v1/{project_id}/services, real-time and batch, with invocation at "
            "/v1/infers/{service_id}) and IAM tokens."
        ),
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOB_COUNT, help="number of jobs in the project")
    parser.add_argument(
        "--v2-jobs", type=int, default=DEFAULT_V2_JOB_COUNT, help="number of v2 training jobs in the project"
    )
    parser.add_argument("--speed", type=float, default=DEFAULT_SPEED, help="emulated seconds per real second")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed certificate")
    parser.add_argument(
        "--manual-clock", action="store_true", help="job timelines move only with POST /_emulator/advance"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--token-ttl", type=float, default=DEFAULT_TOKEN_TTL_SECONDS, help="IAM token lifetime (s)")
    parser.add_argument("--ak", default=DEFAULT_ACCESS_KEY, help="access key")
    parser.add_argument("--sk", default=DEFAULT_SECRET_KEY, help="secret key")
    parser.add_argument("--project-id", default=DEFAULT_PROJECT_ID)
    parser.add_argument("--user", default=DEFAULT_USER_NAME, help="account user name")
    parser.add_argument("--password", default=DEFAULT_PASSWORD, help="account password")
    parser.add_argument("--domain", default=DEFAULT_DOMAIN_NAME, help="account (domain) name")
    parser.add_argument("--iam-user", default=DEFAULT_IAM_USER_NAME, help="IAM user name (of that account)")
    parser.add_argument("--iam-password", default=DEFAULT_IAM_USER_PASSWORD, help="IAM user password")
    parser.add_argument("--temp-ak", default=DEFAULT_TEMP_ACCESS_KEY, help="temporary (STS) access key")
    parser.add_argument("--temp-sk", default=DEFAULT_TEMP_SECRET_KEY, help="temporary (STS) secret key")
    parser.add_argument(
        "--security-token", default=DEFAULT_SECURITY_TOKEN, help="security token of the temporary credentials"
    )
    parser.add_argument(
        "--keep-unknown-annotations",
        action="store_true",
        help="keep annotation keys the docs do not list on created v2 jobs (default: dropped)",
    )
    parser.add_argument(
        "--no-aom-logs",
        action="store_true",
        help="do not publish the AOM log API GET .../training-jobs/{id}/logs/{task_id} (as on Open Telekom "
        "Cloud and the EU site): it answers 404 APIGW.0101",
    )
    parser.add_argument(
        "--log-preview-max-bytes",
        type=int,
        default=DEFAULT_LOG_PREVIEW_MAX_BYTES,
        help="cap on the log preview's content, bytes (default and maximum: 5 MB)",
    )
    parser.add_argument(
        "--no-metadata-agency",
        action="store_true",
        help="the metadata service's instance has no agency: GET /openstack/latest/securitykey answers 401 "
        "'Please configure Cloud Service Agency first'",
    )
    parser.add_argument(
        "--no-metadata-session-token",
        action="store_true",
        help="the metadata service has no session tokens: PUT /meta-data/latest/api/token answers 404",
    )
    parser.add_argument(
        "--temporary-credential-seconds",
        type=float,
        default=None,
        help="lifetime of every issued temporary AK/SK (default: metadata 24 h, securitytokens duration_seconds)",
    )
    parser.add_argument("--idp-id", default=DEFAULT_IDP_ID, help="identity provider id IAM federation accepts")
    parser.add_argument(
        "--job-schedule",
        action="append",
        default=[],
        metavar="SPEC",
        help="create v2 training jobs on the emulator's own clock (repeatable): NAME:every=SECONDS[:count=N]"
        "[:start_after=S][:job_name=TEMPLATE][:outcomes=Completed,Failed][:final_phase=PHASE]"
        "[:outputs=URL,...][:workspace_id=ID][:timeline=Creating/2,Pending/1,Running/10,Completed], e.g. "
        "'nightly:every=30:count=3:job_name=nightly-{date}-{n}' (emulated seconds; TEMPLATE has {n}, {date}, "
        "{time}, {schedule}; default NAME-{n}); or a JSON object with a 'name' (or a list), or @FILE.json",
    )
    parser.add_argument("--ready-file", help="also write the ready JSON line to this file")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """The emulator configuration the command line asks for (``ValueError`` if it cannot work)."""
    from modelarts_emulator.v2.schedules import parse_cli_schedule

    schedules = [schedule for text in args.job_schedule for schedule in parse_cli_schedule(text)]
    return EmulatorConfig(
        job_schedules=tuple(schedules),
        host=args.host,
        port=args.port,
        job_count=args.jobs,
        v2_job_count=args.v2_jobs,
        manual_clock=args.manual_clock,
        keep_unknown_annotations=args.keep_unknown_annotations,
        aom_logs=not args.no_aom_logs,
        log_preview_max_bytes=args.log_preview_max_bytes,
        metadata_agency=not args.no_metadata_agency,
        metadata_session_token=not args.no_metadata_session_token,
        temporary_credential_seconds=args.temporary_credential_seconds,
        idp_id=args.idp_id,
        speed=args.speed,
        tls=args.tls,
        seed=args.seed,
        token_ttl_seconds=args.token_ttl,
        access_key=args.ak,
        secret_key=args.sk,
        temp_access_key=args.temp_ak,
        temp_secret_key=args.temp_sk,
        security_token=args.security_token,
        project_id=args.project_id,
        user_name=args.user,
        password=args.password,
        domain_name=args.domain,
        iam_user_name=args.iam_user,
        iam_user_password=args.iam_password,
    )


def _write_ready_file(path: str, line: str) -> None:
    # Write then rename, so a watcher never reads a half-written file.
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(line + "\n")
    os.replace(temporary, path)


def _private_stdout() -> TextIO:
    """Keep stdout for the ready line only: point fd 1 at stderr, return a copy of the original.

    Anything imported or run later (TLS setup, a library's warning) must not print before the
    ready line: a script reading the first stdout line must get the JSON, whatever they print.
    """
    sys.stdout.flush()
    ready_stream = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return ready_stream


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Installed first, so a SIGTERM that arrives while starting up still ends with exit code 0.
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    ready_stream = _private_stdout()
    from modelarts_emulator.server import ModelArtsEmulator

    try:
        config = config_from_args(args)
        emulator = ModelArtsEmulator(config).start()
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        line = json.dumps(
            {
                "url": emulator.url,
                "ca_bundle": emulator.ca_bundle,
                "project_id": config.project_id,
                "access_key": config.access_key,
            }
        )
        # The file first: whoever saw the stdout line may look for the file at once.
        if args.ready_file:
            _write_ready_file(args.ready_file, line)
        print(line, file=ready_stream, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
        ready_stream.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
