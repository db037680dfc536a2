"""What every provider implements and the engine calls: sources, PSA sinks, invoicing, deferral."""
