"""Sphinx configuration for the flarejax documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` (warnings are errors).
The code on the tutorial and guide pages is executed by ``tests/docs``; the
doctest extension also runs it with ``sphinx-build -b doctest docs docs/_build/doctest``.
"""

from __future__ import annotations

import doctest
import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import flarejax

project = "flarejax"
author = "the flarejax authors"
copyright = "the flarejax authors"
release = flarejax.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
]

# No network: no intersphinx, and MathJax is the only remote asset (loaded by the
# reader's browser, not by the build).
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []
root_doc = "index"

# NumPy-style docstrings.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

autodoc_default_options = {
    "members": True,
    "member-order": "bysource",
    "show-inheritance": True,
}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_preserve_defaults = True
# Keep the names of type aliases instead of expanding them into long unions.
autodoc_type_aliases = {
    "ArrayLike": "jax.typing.ArrayLike",
    "Schedule": "flarejax.schedules.Schedule",
}

# The same flags as the page tests in tests/docs/test_tutorials.py.
doctest_default_flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
doctest_global_setup = ""

html_theme = "furo"
html_title = f"flarejax {release}"
html_static_path: list[str] = []
pygments_style = "sphinx"
pygments_dark_style = "monokai"
