"""The ``lambdahost`` command line."""
