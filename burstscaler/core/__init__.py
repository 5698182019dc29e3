"""The decision core: numpy arrays and frozen dataclasses in, plans out.

Rule: pure. No I/O, no clock (``now`` is always an argument), no globals, and no import of kopf,
kubernetes, an HTTP client or asyncio (import-linter enforces it). Everything here can be called from
the operator, the simulator and the tests alike.
"""
