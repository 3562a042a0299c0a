"""Several processes on this machine: training, ZeRO, checkpoints, failures."""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from flarejax.sharding import LaunchError, launch

HERE = Path(__file__).resolve().parent
WORKER = str(HERE / "multiprocess_worker.py")
EXAMPLE = HERE.parents[1] / "examples" / "multiprocess.py"


def _example():
    spec = importlib.util.spec_from_file_location("multiprocess_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _flat(tree) -> np.ndarray:
    import jax

    return np.concatenate([np.ravel(np.asarray(a, np.float32)) for a in jax.tree.leaves(tree)])


def _results(outputs: list[str]) -> list[dict]:
    return [json.loads(out.strip().splitlines()[-1]) for out in outputs]


def test_two_processes_train_zero_and_checkpoint(tmp_path: Path) -> None:
    """Data parallel and ZeRO-1 on 2 processes give the 1-process parameters; a
    checkpoint of state sharded across the processes restores exactly."""
    results = _results(launch(WORKER, 2, args=["train", str(tmp_path)], timeout=240))
    reference, _ = _example().train()
    assert [r["process"] for r in results] == [0, 1]
    for r in results:
        assert r["processes"] == 2 and r["restored"]
        np.testing.assert_allclose(_flat(r["plain"]), _flat(reference), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(_flat(r["zero"]), _flat(reference), rtol=1e-5, atol=1e-6)


def test_example_four_processes_zero() -> None:
    """examples/multiprocess.py, as its own launcher would run it: 4 processes, ZeRO-1."""
    results = _results(launch(EXAMPLE, 4, args=["--zero"], timeout=240))
    reference, loss = _example().train()
    assert sorted(r["process"] for r in results) == [0, 1, 2, 3]
    for r in results:
        np.testing.assert_allclose(_flat(r["model"]), _flat(reference), rtol=1e-5, atol=1e-6)
        assert r["loss"] == pytest.approx(loss, rel=1e-5)


def test_a_failing_process_takes_all_down(tmp_path: Path) -> None:
    start = time.monotonic()
    with pytest.raises(LaunchError, match=r"process 1 of 2 exited with code 1(.|\n)*on purpose"):
        launch(WORKER, 2, args=["fail", str(tmp_path)], timeout=120)
    assert time.monotonic() - start < 60
    pid = int((tmp_path / "pid0").read_text())
    with pytest.raises(ProcessLookupError):  # process 0, which was sleeping: killed
        os.kill(pid, 0)


def test_a_run_past_its_timeout_is_killed(tmp_path: Path) -> None:
    start = time.monotonic()
    with pytest.raises(LaunchError, match=r"still running after 1\.5 s; killed"):
        launch(WORKER, 2, args=["sleep", str(tmp_path)], timeout=1.5)
    assert time.monotonic() - start < 15
    left = [
        p
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and str(tmp_path).encode() in _cmdline(p)
    ]
    assert not left, "orphans"


def _cmdline(p: Path) -> bytes:
    try:
        return (p / "cmdline").read_bytes()
    except OSError:
        return b""


def test_launch_arguments() -> None:
    with pytest.raises(ValueError, match="num_processes must be at least 1, got 0"):
        launch(WORKER, 0)


def test_bad_coordinators(bad_coordinators) -> None:
    """A silent or absent coordinator: TimeoutError in the timeout; processes that
    never join: JAX ends the process (a fatal DEADLINE_EXCEEDED), never a hang."""
    job = bad_coordinators
    assert not job.killed, "hung"
    lines = [json.loads(line) for line in job.stdout.strip().splitlines()]
    cases = {line["case"]: line for line in lines}
    for case, why in [("silent", "did not answer"), ("absent", "Connection refused")]:
        assert "could not reach the coordinator" in cases[case]["error"], cases[case]
        assert why in cases[case]["error"]
        assert cases[case]["seconds"] < 5
    assert cases["mismatch"].get("error", "no result") == "no result"  # never returned
    assert job.returncode != 0
    assert "DEADLINE_EXCEEDED" in job.stderr
