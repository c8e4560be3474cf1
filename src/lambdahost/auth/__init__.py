"""Authentication: AWS SigV4 verification, auth-error rendering and STS GetCallerIdentity.

Scope: pure code only (no I/O, no clock reads). ``sigv4`` verifies signed requests,
``errors_wire`` renders ``AuthError`` per protocol, ``sts`` answers ``GetCallerIdentity``.
Credential storage belongs to the caller, reached through a ``lookup`` callable.
"""

from lambdahost.auth.errors_wire import render_auth_error
from lambdahost.auth.sigv4 import AuthError, Credentials, SignedScope, parse_scope, verify
from lambdahost.auth.sts import handle_sts, parse_query_params

__all__ = [
    "AuthError",
    "Credentials",
    "SignedScope",
    "handle_sts",
    "parse_query_params",
    "parse_scope",
    "render_auth_error",
    "verify",
]
