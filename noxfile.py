"""The compatibility matrix: ``make matrix`` runs ``nox`` with this file.

The wheels are built once (session ``wheel``): the provider's and the emulator's
(``modelarts-emulator``, from ``emulator/``). Every ``compat`` session installs both, never the
source tree, next to one Airflow release in a fresh uv-managed virtualenv, and then:

1. checks that ``pip install --dry-run <wheel>`` of the provider on that Airflow keeps it (no upgrade,
   no resolver error);
2. runs the unit and integration suites from a copy of the repository that has neither the
   ``airflow_provider_modelarts`` folder nor ``emulator/``, so the tests can only import the installed
   wheels (``tests/unit/test_compat.py`` also asserts it). The emulator's own tests
   (``emulator/tests``) need no Airflow, so they run once, in ``make test``, not in every session.
   In the session whose Airflow and Python are those of ``make test``'s ``.venv`` (nox runs from
   it: the newest release, on Python 3.13), ``make test`` has already run both suites on that same
   pair from the source tree, so only the tests that can tell the installed wheel from the source
   run there (``WHEEL_SUITES``: the unit suite, the example DAGs, the connection form of the
   api-server); every other session runs both suites whole;
3. the example DAGs under ``airflow dags test`` are part of the integration suite
   (``tests/integration/test_example_dags.py``);
4. runs ``scripts/e2e.py --headless``: a real Airflow stack (api-server, scheduler, dag-processor and
   a separate ``airflow triggerer`` process) runs the example DAG, and its deferrable sensor must be
   seen deferred on that triggerer (``--no-job-events``: the job-event watcher's steps run in the
   ``e2e`` sessions, on the floor and the newest release, one on each side of the 3.3 line);
5. on the floor and the newest release (``deployment=True``), runs ``scripts/deployment.py``
   instead of step 4: the create operator's promises (one job per task instance across ``kill -9``,
   retries, Clears and a triggerer restart; every log line once; Mark failed stops the job) checked
   in a real deployment with the connection saved in the metadata database. Step 4's checks are left
   to the ``e2e`` session of the same release, whose browser run has every one of them (the
   connection made in the form instead of the environment, the run started from the UI).

The ``deployment`` sessions run step 5 alone (``make deployment``), in an environment of their own.

The ``e2e`` sessions run the browser end-to-end test (``scripts/e2e.py``) on the floor and on the
newest release, whose connection forms differ (hook widgets below 3.2, declarative conn-fields from 3.2),
and the job-event watcher's steps (in-memory watermark below 3.3, the asset state store from 3.3).

``tests/reliability`` (slow fault injection and restart runs) stays in the single-environment
``make test`` loop.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
DIST = ROOT / "dist"
# nox and uv live in the project's .venv (make venv); use that uv whatever PATH says.
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
PIP = [sys.executable, "-m", "pip"]

# The interpreters come from the machine (pyenv), never from a download: this network has none.
os.environ["UV_PYTHON_DOWNLOADS"] = "never"
nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["wheel", "compat", "e2e"]


@dataclass(frozen=True)
class AirflowEnv:
    """One cell of the matrix: an Airflow release, the Python it runs on, and what must be held back."""

    airflow: str
    python: str
    # Dependencies newer than this Airflow release works with, held back here and only here.
    # Each entry says why; Airflow's own constraint files cannot be fetched from this network.
    pins: tuple[str, ...] = ()
    browser_e2e: bool = False
    # Runs scripts/deployment.py (real deployment: kill -9, retries, Clears, triggerer restart).
    deployment: bool = False


# The floor's latest patch, every minor above it, and the newest release on the index. Keep the
# table in docs/compatibility.md and CHANGELOG.md in step with this one.
MATRIX: dict[str, AirflowEnv] = {
    "3.0": AirflowEnv(
        "3.0.6",
        "3.10",
        # With cadwyn 8 / fastapi 0.162 the 3.0.6 execution API answers every task start with 422
        # ("Input should be a valid dictionary"); 3.0.6 was released with cadwyn 5.4 and fastapi 0.116.
        # PyJWT 2.11+ refuses the issuer None that 3.0.6 puts in every API token (500 on /auth/token,
        # so no UI login and no REST API).
        # cryptography 47+ (a fresh install brings 51): saving a connection to the metadata database fails
        # with "'MultiFernet' object has no attribute 'is_encrypted'" (seen with `airflow connections add`).
        pins=("cadwyn<6", "fastapi<0.117", "pyjwt<2.11", "cryptography<47"),
        browser_e2e=True,
        deployment=True,
    ),
    "3.1": AirflowEnv(
        "3.1.8",
        "3.11",
        # cryptography 47+ (a fresh install brings 51) breaks saving a connection to the metadata
        # database on 3.1.8: "'MultiFernet' object has no attribute 'is_encrypted'".
        pins=("cryptography<47",),
    ),
    "3.2": AirflowEnv(
        "3.2.2",
        "3.12",
        # fastapi 0.137+ fails to build the execution API's routes ("TITerminalStatePayload needs a
        # discriminator field"; 3.3 caps fastapi<0.137), and with svcs 26 the in-process execution API
        # of `airflow dags test` has no services registry (every task start answers 500).
        pins=("fastapi<0.137", "svcs<26"),
    ),
    "3.3": AirflowEnv("3.3.2", "3.13", browser_e2e=True, deployment=True),
}

# What the repository copy used by the tests contains: everything the suites read, but not the package.
TEST_TREE = ("tests", "scripts", "example_dags", "pyproject.toml", "LICENSE")
SUITES = ("tests/unit", "tests/integration")
# What compat runs where make test already ran SUITES on the same Airflow and Python (see step 2).
WHEEL_SUITES = (
    "tests/unit",
    "tests/integration/test_example_dags.py",
    "tests/integration/test_connection_endpoint.py",
)
AIRFLOW_DISTRIBUTIONS = {"apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk"}


def interpreter(version: str) -> str:
    """The machine's python<version>: on PATH, else pyenv's (the CI image has 3.10-3.13 there)."""
    found = shutil.which(f"python{version}")
    candidates = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))
    if candidates:
        return candidates[-1]
    return found or f"python{version}"


def built_wheel() -> Path:
    wheels = sorted(DIST.glob("airflow_provider_modelarts-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected exactly one wheel in {DIST} (run the 'wheel' session), found {wheels}")
    return wheels[0]


def built_emulator_wheel() -> Path:
    wheels = sorted(DIST.glob("modelarts_emulator-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected exactly one emulator wheel in {DIST} (run the 'wheel' session), found {wheels}")
    return wheels[0]


def wheel_requirement(extras: str = "") -> str:
    wheel = built_wheel()
    return f"airflow-provider-modelarts{extras} @ {wheel.as_uri()}"


def emulator_requirement() -> str:
    return f"modelarts-emulator @ {built_emulator_wheel().as_uri()}"


@nox.session(python=False)
def wheel(session: nox.Session) -> None:
    """Build the provider and the emulator wheels once; every other session installs these files."""
    shutil.rmtree(DIST, ignore_errors=True)
    for project in (ROOT, ROOT / "emulator"):
        session.run_install(UV, "build", "--wheel", "--out-dir", str(DIST), str(project), external=True)
    session.log(f"built {built_wheel().name} and {built_emulator_wheel().name}")


def install_airflow(session: nox.Session, env: AirflowEnv) -> None:
    session.install(f"apache-airflow=={env.airflow}", *env.pins)


def install_wheel(session: nox.Session, env: AirflowEnv, extras: str) -> None:
    """The built wheel with ``extras`` and the emulator's wheel (the tests and scripts run against it),
    Airflow held at the environment's release.

    ``--reinstall-package``: the wheels keep their version numbers between builds, so uv would
    otherwise keep the copies installed by an earlier run of a reused environment.
    """
    requirements = [wheel_requirement(extras), emulator_requirement(), f"apache-airflow=={env.airflow}", *env.pins]
    session.install(
        "--reinstall-package", "airflow-provider-modelarts", "--reinstall-package", "modelarts-emulator", *requirements
    )


def check_dry_run_keeps_airflow(session: nox.Session, env: AirflowEnv) -> None:
    """What a user with this Airflow does: ``pip install --dry-run`` of our wheel must keep their Airflow."""
    report_path = Path(session.create_tmp()) / "pip-dry-run.json"
    session.run_install(
        *PIP,
        "--python",
        str(Path(session.bin) / "python"),
        "install",
        "--dry-run",
        "--quiet",
        "--report",
        str(report_path),
        str(built_wheel()),
        external=True,
    )
    report = json.loads(report_path.read_text())
    would_install = {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in report["install"]}
    touched = {name: version for name, version in would_install.items() if name in AIRFLOW_DISTRIBUTIONS}
    if touched:
        session.error(f"pip install --dry-run of the wheel on Airflow {env.airflow} would change Airflow: {touched}")
    session.log(f"pip install --dry-run keeps Airflow {env.airflow}; it would install {sorted(would_install)}")


def same_as_make_test(env: AirflowEnv) -> bool:
    """Whether ``env`` is the Airflow and Python of ``make test``'s ``.venv``, which nox runs from."""
    try:
        airflow = metadata.version("apache-airflow")
    except metadata.PackageNotFoundError:
        return False
    return (airflow, f"{sys.version_info.major}.{sys.version_info.minor}") == (env.airflow, env.python)


def test_tree(session: nox.Session) -> Path:
    """A copy of the repository without the package, so only the installed wheel can be imported."""
    tree = Path(session.create_tmp()) / "repo"
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir()
    for name in TEST_TREE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tree / name)
    return tree


@nox.session(requires=["wheel"])
@nox.parametrize(
    ("python", "airflow"),
    [(interpreter(env.python), env.airflow) for env in MATRIX.values()],
    ids=list(MATRIX),
)
def compat(session: nox.Session, airflow: str) -> None:
    """Unit + integration suites, example DAGs and a real triggerer, on one Airflow release."""
    env = next(env for env in MATRIX.values() if env.airflow == airflow)
    install_airflow(session, env)
    check_dry_run_keeps_airflow(session, env)
    install_wheel(session, env, "[test]")
    tree = test_tree(session)
    session.chdir(tree)
    run_env = {"MODELARTS_EXPECT_INSTALLED_WHEEL": "1", "MODELARTS_EXPECT_AIRFLOW": env.airflow}
    suites = session.posargs or SUITES
    if not session.posargs and same_as_make_test(env):
        suites = WHEEL_SUITES
        session.log(
            f"make test runs {' and '.join(SUITES)} on Airflow {env.airflow} and Python {env.python} from the "
            f"source tree; against the installed wheel on that same pair: {', '.join(WHEEL_SUITES)}"
        )
    session.run(
        "python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-n",
        "4",
        "--dist",
        "loadgroup",
        *suites,
        env=run_env,
    )
    if env.deployment:
        # Not --with-e2e: this release's e2e session runs every e2e.py --headless step in the browser.
        session.run("python", "scripts/deployment.py", env=run_env)
    else:
        # The job-event steps run in the e2e sessions (floor and newest), not in every environment.
        session.run("python", "scripts/e2e.py", "--headless", "--no-job-events", env=run_env)


@nox.session(requires=["wheel"])
@nox.parametrize(
    ("python", "airflow"),
    [(interpreter(env.python), env.airflow) for env in MATRIX.values() if env.browser_e2e],
    ids=[minor for minor, env in MATRIX.items() if env.browser_e2e],
)
def e2e(session: nox.Session, airflow: str) -> None:
    """The browser end-to-end test (connection form, Test button, DAG run, console link)."""
    env = next(env for env in MATRIX.values() if env.airflow == airflow)
    install_wheel(session, env, "[e2e]")
    session.run("python", str(ROOT / "scripts" / "e2e.py"), env={"MODELARTS_EXPECT_AIRFLOW": env.airflow})


@nox.session(requires=["wheel"], default=False)
@nox.parametrize(
    ("python", "airflow"),
    [(interpreter(env.python), env.airflow) for env in MATRIX.values() if env.deployment],
    ids=[minor for minor, env in MATRIX.items() if env.deployment],
)
def deployment(session: nox.Session, airflow: str) -> None:
    """``scripts/deployment.py`` alone (``make deployment``); ``make matrix`` runs it inside ``compat``."""
    env = next(env for env in MATRIX.values() if env.airflow == airflow)
    install_wheel(session, env, "")
    tree = test_tree(session)
    session.chdir(tree)
    run_env = {"MODELARTS_EXPECT_INSTALLED_WHEEL": "1", "MODELARTS_EXPECT_AIRFLOW": env.airflow}
    session.run("python", "scripts/deployment.py", *session.posargs, env=run_env)
