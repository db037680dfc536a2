"""Axcient Backup for Files partner portal: customers, accounts and sub-accounts, storage used."""
