"""Every example runs end to end in ``--smoke`` mode and writes its figures.

Each example runs in its own Python process (``sys.executable``), as a user runs
it: ``python examples/NAME.py --smoke --out DIR``. The full runs (accuracy targets
included) are the ``examples`` session of ``noxfile.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# The files each example writes to --out.
OUTPUTS = {
    "quickstart": [],
    "classifier": ["classifier_curves.png"],
    "custom_optimizer": ["custom_optimizer.png"],
    "vae": ["vae_samples.png", "vae_loss.png"],
    "flax_trainstate": ["flax_trainstate.png"],
    "equinox_model": ["equinox_fit.png"],
    "mixed_precision": ["mixed_precision.png"],
}


def test_examples_exist() -> None:
    for name in OUTPUTS:
        assert (EXAMPLES / f"{name}.py").is_file(), f"examples/{name}.py is missing"


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_example_runs(name: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu"),
        # The progress bars of a captured run are noise.
        "TQDM_DISABLE": "1",
        # Tiny models: one thread each, so that examples running side by side
        # (pytest -n 2) do not oversubscribe the cores.
        "XLA_FLAGS": (
            os.environ.get("XLA_FLAGS", "")
            + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        ).strip(),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    args = [sys.executable, str(EXAMPLES / f"{name}.py"), "--smoke"]
    if OUTPUTS[name]:
        args += ["--out", str(tmp_path)]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    for filename in OUTPUTS[name]:
        path = tmp_path / filename
        assert path.is_file(), f"{name} did not write {filename}"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{filename} is not a PNG"
    assert "loss" in proc.stdout, f"{name} printed no loss:\n{proc.stdout}"
