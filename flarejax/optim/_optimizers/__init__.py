"""Optimizers, one per file, and the math they share.

Moments and the step counter (``_moments``), decoupled weight decay (``_decay``),
squares of complex gradients (``_complex``), moment dtypes (``_mu_dtype``).
"""
