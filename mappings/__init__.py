"""Pure billing logic: contract models, billing periods, customer mappings and the rules that bill usage."""
