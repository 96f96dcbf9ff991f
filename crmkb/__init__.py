"""crmkb: CRM implementation guidance from a cited knowledge base.

This package holds what every stage shares (the settings tree) and the channels (``crmkb.cli``).
The data path lives in the sibling packages: ``ingest`` (kb/ → store) and ``bot`` (store → answers).
"""
