"""Reliability and security: faults, bad input, restarts and invariants under load (issue 8)."""
