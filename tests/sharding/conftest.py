"""The slow subprocesses of these tests, started by the fixture of the same name.

Each runs JAX with its own devices (8 host devices, or a distributed runtime), so
that this pytest process keeps its one device. A job starts when a test first
asks for its fixture (not on ``--collect-only``, nor in an xdist worker that runs
none of its tests) and runs once per session. Every job is bounded: it is killed
``LIMIT`` seconds after its start, and at the end of the session. Under
pytest-xdist, the first worker to need a job runs it and saves what it printed;
the other workers wait for that (a file lock) and read it, so each job runs once
per test run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
LIMIT = 300.0
JOBS = {
    "eight_devices": [str(HERE / "eight_devices.py")],
    "bad_coordinators": [str(HERE / "multiprocess_worker.py"), "coordinator"],
}


@dataclass
class Job:
    process: subprocess.Popen[bytes]
    out: Any
    err: Any
    started: float
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    killed: bool = False


_jobs: dict[str, Job] = {}
_written: list[Path] = []  # results saved for the other xdist workers


def _start(name: str) -> None:
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    # Closed by _finish, once the job has ended.
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, *JOBS[name]],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=err,
        start_new_session=True,
    )
    _jobs[name] = Job(process, out, err, time.monotonic())


def _finish(name: str) -> Job:
    """The job ``name``'s result: run by this process, or by another xdist worker."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None or name in _jobs:
        return _run(name)
    shared = Path(tempfile.gettempdir()) / f"flarejax-tests-{run}-{name}"
    with open(f"{shared}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if shared.exists():
            saved = json.loads(shared.read_text())
            return Job(None, None, None, 0.0, **saved)  # type: ignore[arg-type]
        job = _run(name)
        fields = ("returncode", "stdout", "stderr", "seconds", "killed")
        shared.write_text(json.dumps({f: getattr(job, f) for f in fields}))
        _written.append(shared)
        return job


def _run(name: str) -> Job:
    """Start the job ``name`` unless it ran already; wait for it (bounded)."""
    if name not in _jobs:
        _start(name)
    job = _jobs[name]
    if job.returncode is None:
        try:
            job.process.wait(timeout=max(0.0, job.started + LIMIT - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill(job)
            job.killed = True
        job.returncode = job.process.returncode
        job.seconds = time.monotonic() - job.started
        for f, attr in ((job.out, "stdout"), (job.err, "stderr")):
            f.seek(0)
            setattr(job, attr, f.read().decode(errors="replace"))
            f.close()
    return job


def _kill(job: Job) -> None:
    if job.process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(job.process.pid, signal.SIGKILL)
        job.process.wait(timeout=10)


def pytest_sessionfinish(session: pytest.Session) -> None:
    for job in _jobs.values():
        _kill(job)
    # A worker that needs a result after this reruns the job: slower, still right.
    for path in _written:
        path.unlink(missing_ok=True)
        Path(f"{path}.lock").unlink(missing_ok=True)


@pytest.fixture(scope="session")
def eight_devices() -> Job:
    return _finish("eight_devices")


@pytest.fixture(scope="session")
def bad_coordinators() -> Job:
    return _finish("bad_coordinators")
