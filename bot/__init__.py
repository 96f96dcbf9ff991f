"""Answering: hybrid retrieval over the index and grounded, cited answers (built on ``crmkb.ingest``)."""
