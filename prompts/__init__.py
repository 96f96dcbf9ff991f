"""The LLM prompt templates (``*.md``), shipped as package data and read by :mod:`crmkb.bot.prompts`."""
