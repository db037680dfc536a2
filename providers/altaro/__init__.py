"""Altaro / Hornetsecurity Cloud Management Console: the itemised billing report API link."""
