"""The billing console: a web application for people (issue 23), served by `connector console`; every action calls
the operation the command line calls."""

from connector.console.app import create_app
from connector.console.server import address, serve

__all__ = ["address", "create_app", "serve"]
