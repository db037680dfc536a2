"""One sync, stage by stage: fetch, observe, read the PSA, compute and review, stage, push."""
