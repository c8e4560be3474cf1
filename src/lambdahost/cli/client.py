"""How CLI commands reach a running server: endpoint, credentials, boto3 client, signed GETs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lambdahost.app.credentials import read_saved
from lambdahost.settings import DEFAULT_REGION, default_data_dir


@dataclass(frozen=True)
class Target:
    endpoint: str
    region: str
    access_key_id: str
    secret_access_key: str


def resolve_target(endpoint: str | None, data_dir: Path | None) -> Target:
    url = (
        endpoint
        or os.environ.get("LAMBDAHOST_ENDPOINT")
        or os.environ.get("AWS_ENDPOINT_URL_LAMBDA")
        or os.environ.get("AWS_ENDPOINT_URL")
        or "http://127.0.0.1:9000"
    )
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    key = os.environ.get("LAMBDAHOST_ACCESS_KEY_ID") or os.environ.get("AWS_ACCESS_KEY_ID")
    secret = os.environ.get("LAMBDAHOST_SECRET_ACCESS_KEY") or os.environ.get(
        "AWS_SECRET_ACCESS_KEY"
    )
    if not (key and secret):
        saved = read_saved(data_dir or default_data_dir())
        if saved is not None:
            key, secret = saved.access_key_id, saved.secret_access_key
    return Target(url.rstrip("/"), region, key or "anonymous", secret or "anonymous")


def lambda_client(target: Target) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "lambda",
        endpoint_url=target.endpoint,
        region_name=target.region,
        aws_access_key_id=target.access_key_id,
        aws_secret_access_key=target.secret_access_key,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=960),
    )


def signed_get(
    target: Target, path_and_query: str, timeout: float = 30.0
) -> tuple[int, dict[str, str], bytes]:
    """GET a lambdahost route, SigV4-signed like a Lambda call."""
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = target.endpoint + path_and_query
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(
        Credentials(target.access_key_id, target.secret_access_key), "lambda", target.region
    ).add_auth(request)
    prepared = request.prepare()
    http_request = urllib.request.Request(url, headers=dict(prepared.headers.items()), method="GET")
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()
