"""Vendor customers to PSA customers: `connector map`, the mapping file, onboarding, auto-match, renames."""
