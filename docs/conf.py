"""Sphinx configuration: the API reference from the numpy-style docstrings, and the
design document. Built by ``.ci/run`` with warnings as errors::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

from importlib import metadata

project = "mixupy_dask"
author = "mixupy_dask developers"
copyright = "the mixupy_dask developers, GPL-3.0-or-later"
release = metadata.version("mixupy_dask")

extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx", "numpydoc", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]

# The reference lists each public name once, under the names users import.
autodoc_default_options = {"members": False}
autodoc_typehints = "none"  # the numpydoc "Parameters" sections say the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Cross-references to other projects are not resolved offline: no intersphinx inventories
# are downloaded, so references to pandas or Dask types are plain text.
intersphinx_mapping: dict = {}
nitpicky = False

html_theme = "alabaster"
html_static_path: list = []
myst_heading_anchors = 3
