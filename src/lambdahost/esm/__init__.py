"""Event source mappings: pollers that feed queue messages to functions."""
