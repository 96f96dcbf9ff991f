"""Evaluation of answer grounding: datasets, metrics and reports."""
