"""Combinators and wrappers: optimizers built from other optimizers."""
