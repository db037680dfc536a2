"""Vendor adapters, one folder per vendor: client, models, source or sink, and a local sandbox server."""
