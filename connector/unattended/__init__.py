"""The connector left running: the daemon and its health and metrics endpoints."""
