"""Ingestion: kb/ files → cleaned, chunked, embedded index."""
