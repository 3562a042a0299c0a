"""Many devices and many hosts: ZeRO-sharded state, sharded checkpoints, a launcher.

Parameters placed on a :class:`jax.sharding.Mesh` need nothing from this module:
every flarejax optimizer's state already follows its parameter's sharding. Here
are the extras: :class:`ShardedState` (ZeRO-1, the state of replicated parameters
sharded over the data-parallel axis), :func:`save` / :func:`restore` (checkpoints
of sharded arrays, written shard by shard by every process, through orbax), and
:func:`launch` / :func:`initialize` (several processes on one machine, joined by
JAX's own multi-process runtime).
"""

from ._checkpoint import restore, save
from ._launch import LaunchError, free_port, initialize, launch
from ._zero import ShardedState, zero_spec

__all__ = [
    "LaunchError",
    "ShardedState",
    "free_port",
    "initialize",
    "launch",
    "restore",
    "save",
    "zero_spec",
]
