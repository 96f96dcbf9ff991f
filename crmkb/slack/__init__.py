"""The Slack channel: consultants ask by slash command, mention or DM, and rate answers with buttons."""
