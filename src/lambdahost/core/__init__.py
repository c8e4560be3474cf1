"""The pure core: models, validation, ARNs, state machines and formats.

Nothing in this package performs I/O or imports a web framework or a database
driver; it takes inputs (including the current time) and returns decisions.
"""
