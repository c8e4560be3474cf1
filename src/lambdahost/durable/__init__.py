"""Durable functions: executions, checkpoints, replay, timers and callbacks."""
