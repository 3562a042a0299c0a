"""Many processes on one machine: a launcher for tests and examples, and ``initialize``.

``launch`` starts ``num_processes`` Python processes, each of which joins JAX's
own multi-process runtime (``jax.distributed.initialize``, CPU collectives over
gloo) before running the target. Every wait is bounded: a process that fails or
a run that outlives ``timeout`` takes all the processes down (each runs in its
own process group, killed as a group) and raises. On a real cluster nothing
here is needed: call ``jax.distributed.initialize()`` as the cluster's launcher
(Slurm, Open MPI, Kubernetes, TPU pods) dictates; the training code is the same.
"""

from __future__ import annotations

import contextlib
import os
import runpy
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

import jax

__all__ = ["LaunchError", "free_port", "initialize", "launch"]

_ADDRESS = "FLAREJAX_COORDINATOR"
_COUNT = "FLAREJAX_NUM_PROCESSES"
_ID = "FLAREJAX_PROCESS_ID"
_TIMEOUT = "FLAREJAX_INIT_TIMEOUT"
_WORKER = "__flarejax_worker__"


class LaunchError(RuntimeError):
    """A launched process failed, or the run did not finish in time."""


def free_port() -> int:
    """A TCP port free on the loopback interface (for the coordinator)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    timeout: float = 60.0,
) -> bool:
    """Join JAX's multi-process runtime, with CPU collectives over gloo.

    The arguments default to those ``launch`` passes in the environment; outside
    ``launch`` and without arguments it does nothing and returns ``False``, so a
    script runs alone unchanged. Call it before any other JAX call. A coordinator
    that does not answer within ``timeout`` seconds is a ``TimeoutError``; if not
    all ``num_processes`` processes join within it, JAX ends the process (a
    fatal ``DEADLINE_EXCEEDED`` error, not an exception), which ``launch`` reports.
    """
    env = os.environ
    address = coordinator_address or env.get(_ADDRESS)
    if address is None:
        return False
    count = int(env[_COUNT]) if num_processes is None else num_processes
    pid = int(env[_ID]) if process_id is None else process_id
    timeout = float(env.get(_TIMEOUT, timeout))
    if jax.distributed.is_initialized():
        return True
    # Absolute: this file also runs as a script (runpy) in each launched process.
    from flarejax._jax import backends_are_initialized

    if backends_are_initialized():
        raise RuntimeError(
            "flarejax.sharding.initialize must be called before any JAX computation "
            "(jax.devices(), creating an array...): JAX's multi-process runtime is joined "
            "before its devices are set up"
        )
    deadline = time.monotonic() + timeout
    host, _, port = address.rpartition(":")
    if pid != 0:
        _wait_for_coordinator(host, int(port), deadline, f"process {pid} of {count}", timeout)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    seconds = max(1, round(deadline - time.monotonic()))
    jax.distributed.initialize(
        coordinator_address=address,
        num_processes=count,
        process_id=pid,
        initialization_timeout=seconds,
        # On this machine, listen on the loopback only (the default is every interface).
        coordinator_bind_address=address if host in ("127.0.0.1", "localhost") else None,
        # A crashed peer is noticed, and the exit barrier given up, in bounded time.
        heartbeat_timeout_seconds=max(10, round(timeout)),
        shutdown_timeout_seconds=max(10, round(timeout)),
    )
    return True


# An HTTP/2 connection preface and an empty SETTINGS frame: a gRPC server (JAX's
# coordinator) answers with a SETTINGS frame of its own.
_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


def _wait_for_coordinator(host: str, port: int, deadline: float, who: str, timeout: float) -> None:
    """Return once the coordinator answers; ``TimeoutError`` at ``deadline``.

    JAX itself would end the process, without an exception, on a coordinator that
    does not answer; this check turns that case into an error the caller can catch.
    """
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            left = max(0.05, deadline - time.monotonic())
            with socket.create_connection((host, port), timeout=left) as s:
                s.settimeout(max(0.05, deadline - time.monotonic()))
                s.sendall(_PREFACE)
                reply = s.recv(9)
                if len(reply) >= 4 and reply[3] == 4:
                    return
                last = "it answered, but not as a gRPC server"
        except TimeoutError:  # socket.timeout
            last = "it accepted the connection but did not answer"
        except OSError as e:  # not listening yet: process 0 may still be starting
            last = f"{type(e).__name__}: {e}"
            time.sleep(0.1)
    raise TimeoutError(
        f"{who} could not reach the coordinator at {host}:{port} within {timeout:g} s "
        f"({last}); is process 0 running, and is the address right?"
    )


def launch(
    target: str | os.PathLike[str],
    num_processes: int,
    *,
    args: Sequence[str] = (),
    timeout: float = 120.0,
    init_timeout: float = 30.0,
    devices_per_process: int = 1,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """Run ``target`` in ``num_processes`` processes on this machine; return their stdouts.

    ``target`` is a Python file or ``"module:function"``. Each process first joins
    the others (``initialize``), on CPU with ``devices_per_process`` devices, then
    runs the file as ``__main__`` with ``args`` as ``sys.argv[1:]``, or calls
    ``function(*args)``. If a process exits with an error, or all have not
    finished within ``timeout`` seconds, every process is killed and
    ``LaunchError`` says which failed, with the end of its stderr.
    """
    if num_processes < 1:
        raise ValueError(f"num_processes must be at least 1, got {num_processes}")
    address = f"127.0.0.1:{free_port()}"
    base = {**os.environ, **(env or {})}
    base.setdefault("JAX_PLATFORMS", "cpu")
    base["JAX_NUM_CPU_DEVICES"] = str(devices_per_process)
    base.update({_ADDRESS: address, _COUNT: str(num_processes), _TIMEOUT: str(init_timeout)})
    # The worker runs this file by its path, without importing flarejax (whose import
    # must not come before initialize).
    bootstrap = f"import runpy; runpy.run_path({__file__!r}, run_name={_WORKER!r})"
    command = [sys.executable, "-c", bootstrap, os.fspath(target)]
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="flarejax-launch-") as logs:
        outs = [open(os.path.join(logs, f"{i}.out"), "w+b") for i in range(num_processes)]  # noqa: SIM115
        errs = [open(os.path.join(logs, f"{i}.err"), "w+b") for i in range(num_processes)]  # noqa: SIM115
        try:
            for i in range(num_processes):
                procs.append(
                    subprocess.Popen(
                        [*command, *map(str, args)],
                        env={**base, _ID: str(i)},
                        stdin=subprocess.DEVNULL,
                        stdout=outs[i],
                        stderr=errs[i],
                        start_new_session=True,  # its own process group, killed whole
                    )
                )
            _wait(procs, errs, timeout)
            return [_read(f) for f in outs]
        finally:
            _kill(procs)
            for f in outs + errs:
                f.close()


def _wait(procs: list[subprocess.Popen[bytes]], errs: list[Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        codes = [p.poll() for p in procs]
        failed = [i for i, c in enumerate(codes) if c not in (None, 0)]
        if failed:
            i = failed[0]
            err = _read(errs[i])
            hint = ""
            if "JAX distributed service" in err or "DEADLINE_EXCEEDED" in err:
                hint = (
                    " while joining the others: not all of them reached the coordinator "
                    "within init_timeout (one failed to start, or num_processes differs)"
                )
            raise LaunchError(
                f"process {i} of {len(procs)} exited with code {codes[i]}{hint}; stderr:\n"
                + _tail(err)
            )
        if all(c == 0 for c in codes):
            return
        if time.monotonic() > deadline:
            waiting = [i for i, c in enumerate(codes) if c is None]
            raise LaunchError(
                f"processes {waiting} of {len(procs)} were still running after {timeout} s; "
                "killed. stderr of process "
                f"{waiting[0]}:\n" + _tail(_read(errs[waiting[0]]))
            )
        time.sleep(0.05)


def _kill(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, signal.SIGKILL)
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=10)


def _read(f: Any) -> str:
    f.flush()
    f.seek(0)
    return f.read().decode(errors="replace")


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _worker() -> None:
    """The entry point of a launched process: join the others, then run the target."""
    target, args = sys.argv[1], sys.argv[2:]
    initialize()
    try:
        if os.path.exists(target) or target.endswith(".py"):
            sys.argv = [target, *args]
            runpy.run_path(target, run_name="__main__")
        else:
            module, _, name = target.partition(":")
            if not name:
                raise ValueError(
                    f"target must be a Python file or 'module:function', got {target!r}"
                )
            getattr(__import__(module, fromlist=[name]), name)(*args)
    except BaseException as e:
        code = e.code if isinstance(e, SystemExit) else 1
        if code in (0, None):
            raise
        if not isinstance(e, SystemExit):
            traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        # Leave at once: a normal exit would wait, at JAX's exit barrier, for the
        # processes that are still working, and the launcher would see the failure late.
        os._exit(code if isinstance(code, int) else 1)


if __name__ == _WORKER:
    _worker()
