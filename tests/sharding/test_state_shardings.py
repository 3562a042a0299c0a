"""8 host devices (in a subprocess, see eight_devices.py): state follows parameters,
ZeRO-1, the numbers of one device, one compilation, donation, checkpoints, errors."""

from __future__ import annotations

import json

import pytest

FOLLOW = [
    "follow[dp-Adam]",
    "follow[fsdp-Adam]",
    "follow[tp-Adam]",
    "follow[fsdp-SGD]",
    "follow[fsdp-AdamW]",
    "follow[tp-Lion]",
    "follow[tp-Adafactor]",
    "follow[fsdp-MARS]",
    "follow[tp-CautiousAdamW]",
    "follow_init_in_jit",
    "factors_follow[fsdp-Shampoo]",
    "factors_follow[tp-SOAP]",
    "factors_follow[tp-PSGDKron]",
]
OTHERS = ["follow_lazy", "same_numbers", "zero", "checkpoint", "bad_placement", "to_optax"]


@pytest.fixture(scope="module")
def results(eight_devices) -> dict:
    assert not eight_devices.killed, "the 8-device checks did not finish in time"
    assert eight_devices.returncode == 0, eight_devices.stderr[-3000:]
    return json.loads(eight_devices.stdout.strip().splitlines()[-1])


def _check(results: dict, name: str) -> None:
    assert name in results, f"{name} did not run"
    ok, detail, _seconds = results[name]
    assert ok, detail


@pytest.mark.parametrize("name", FOLLOW)
def test_state_follows_parameters(results: dict, name: str) -> None:
    """init, eager steps and jax.jit keep every state array on its parameter's sharding."""
    _check(results, name)


@pytest.mark.parametrize("name", OTHERS)
def test_eight_devices(results: dict, name: str) -> None:
    _check(results, name)
