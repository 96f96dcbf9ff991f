"""crmkb: CRM implementation guidance from a cited knowledge base.

The one import root. This folder holds what every stage shares (``crmkb.core``: settings, files,
errors) and the channels (``crmkb.cli``, ``crmkb.web``, ``crmkb.slack``, ``crmkb.faq``); the data path
lives in the checkout's sibling folders, installed as subpackages (see ``[tool.setuptools.package-dir]`` in pyproject.toml):
``crmkb.ingest`` (kb/ → store), ``crmkb.bot`` (store → answers), ``crmkb.evals`` and ``crmkb.prompts``.
"""
