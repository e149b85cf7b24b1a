"""Reusable behavioural contracts that every adapter of a port must pass (subclass and supply a factory)."""
