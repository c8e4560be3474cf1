"""lambdahost: run AWS Lambda functions on your own machines.

The public surface is the ``lambdahost`` command (``lambdahost.cli``) and the
HTTP endpoint it serves; everything else is implementation.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
