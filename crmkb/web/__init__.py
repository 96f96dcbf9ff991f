"""HTTP channel: FastAPI app with one router per concern."""
