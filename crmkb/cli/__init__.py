"""Command-line channel: ``crmkb ingest``, ``crmkb chunks``, ``crmkb search``."""
