"""Atera PSA API v3: customers, contracts, rates, agents; pushing quantities onto contracts."""
