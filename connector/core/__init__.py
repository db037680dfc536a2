"""The foundation every layer stands on: configuration, secrets, errors, logging, files and HTTP."""
