"""The built-in SQS-compatible queue service (JSON protocol, same endpoint as Lambda)."""
