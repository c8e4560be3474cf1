"""Durable functions: executions, checkpoints, replay, timers and callbacks.

Pure core (no I/O): ``model`` (enums and guarded state machines, records),
``ids`` (ARNs, names, checkpoint tokens), ``updates`` (request validation),
``changes`` (write sets), ``journal`` (CheckpointDurableExecution),
``lifecycle`` (start, timers, invocations, callbacks, stop/pause), ``views``
(read models). I/O: ``repo`` (store), ``writer`` (group commit), ``engine``
(cache, drivers, timers), ``chained`` (context.invoke targets), ``frontend``
(Invoke), ``service`` (the 2025-12-01 operations), ``routes`` (HTTP).
"""
