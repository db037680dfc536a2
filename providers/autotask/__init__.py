"""Autotask PSA: recurring service contracts whose units are set from backup usage."""
