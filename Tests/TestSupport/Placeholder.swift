// TestSupport: shared helpers for the test targets.
