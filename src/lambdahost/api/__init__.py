"""The HTTP edge: one ASGI endpoint for every service lambdahost implements."""
