"""The FAQ builder for trainers: suggest questions, build and review FAQ files, publish curated answers."""
