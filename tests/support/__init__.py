"""Real servers and models that tests build or start on loopback."""
