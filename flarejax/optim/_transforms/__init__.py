"""Gradient transforms: each changes the gradients before the next member of a ``Chain``."""
