"""The machinery of ``flarejax.optim.Optimizer``, in layers without import cycles.

From the bottom up (each module imports only those above it in this list, and
``flarejax._jax`` / ``flarejax._tree``):

``pytree``      which attributes of an optimizer are children, which static; its slots
``closures``    functions and partials as PyTrees of what they capture
``reach``       which state arrays nothing outside the optimizer holds (donation)
``recompiles``  the warning for eager steps that keep recompiling
``eager``       running a method eagerly as one compiled call (``functional_method``)
``checks``      hyperparameter checks, recorded by ``__init__`` and rerun on assignment
``patterns``    key patterns (``"encoder.*"``) and the check that they match a parameter
``select``      which leaves of a model are its parameters (``wrt=``)
``grads``       matching a gradient tree to its model
``entry``       what every step entry point does around its body (nnx in place)
``init``        ``opt.init(model)``: the state a first step would build
``guard``       keeping or discarding a step's new state on a traced condition
``step``        one step over flat dicts: ``substep``, the hooks, ``updates`` via ``__call__``
``base``        the ``Optimizer`` class

Nothing here imports ``flarejax.optim``, except ``Optimizer``'s facade methods
(``to_optax``, ``state_dict``, ``summary``), which import their modules when called.
"""
