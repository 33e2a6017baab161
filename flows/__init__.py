"""Prefect flows: thin orchestration over the ``briefings`` and ``nlp`` libraries.

Importing this package sets quiet defaults for Prefect *before* Prefect is
imported (see :mod:`flows.settings`); settings a user exported win.
"""

from flows.settings import apply_prefect_defaults

apply_prefect_defaults()
