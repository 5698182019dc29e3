"""End-to-end tests: the operator against the KMock-based API emulator and the cluster actor."""
