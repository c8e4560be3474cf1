"""The Lambda Runtime, Extensions and Telemetry APIs of one execution environment.

Platform side, on the event loop: ``http.py`` (a small HTTP/1.1 server protocol on
httptools), ``state.py`` and ``extensions.py`` (pure bookkeeping: who waits for what),
``telemetry.py`` (subscriptions and delivery) and ``server.py`` (the routes, binding
them together). ``lambdahost.sandbox.exec_env`` drives one ``RuntimeApiServer`` per
environment.
"""
