"""Use cases: orchestrate the pure core, the store and the sandbox. No HTTP here."""
