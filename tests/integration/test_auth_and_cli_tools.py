"""SigV4 at the endpoint, STS GetCallerIdentity, and the AWS CLI (awscli package)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdahost.testing import ACCESS_KEY, REGION, SECRET_KEY, LiveServer, make_zip


def test_wrong_secret_is_rejected(server: LiveServer) -> None:
    bad = server.client(aws_secret_access_key="wrong-secret")
    with pytest.raises(ClientError) as exc:
        bad.list_functions()
    assert exc.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "signature we calculated does not match" in exc.value.response["Error"]["Message"]


def test_unknown_key_is_rejected(server: LiveServer) -> None:
    stranger = server.client(aws_access_key_id="AKIAUNKNOWN000000000")
    with pytest.raises(ClientError) as exc:
        stranger.list_functions()
    assert exc.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_unsigned_request_is_rejected(server: LiveServer) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(server.endpoint + "/2015-03-31/functions")
    assert exc.value.code == 403
    assert exc.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_sts_get_caller_identity(server: LiveServer) -> None:
    sts = server.client("sts")
    identity = sts.get_caller_identity()
    assert identity["Account"] == "123456789012"
    assert identity["Arn"] == "arn:aws:iam::123456789012:root"
    with pytest.raises(ClientError) as exc:
        server.client("sts", aws_secret_access_key="nope").get_caller_identity()
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def aws(
    server: LiveServer, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL_LAMBDA": server.endpoint,
            "AWS_ENDPOINT_URL_STS": server.endpoint,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_PAGER": "",
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "awscli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_aws_cli_end_to_end(server: LiveServer, tmp_path: Path, fname: str) -> None:
    zip_path = tmp_path / "fn.zip"
    zip_path.write_bytes(make_zip({"app.py": "def handler(e, c):\n    return {'got': e}\n"}))
    created = aws(
        server,
        "lambda",
        "create-function",
        "--function-name",
        fname,
        "--runtime",
        "python3.12",
        "--role",
        "arn:aws:iam::123456789012:role/r",
        "--handler",
        "app.handler",
        "--zip-file",
        f"fileb://{zip_path}",
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["FunctionName"] == fname
    out_file = tmp_path / "out.json"
    invoked = aws(
        server,
        "lambda",
        "invoke",
        "--function-name",
        fname,
        "--payload",
        '{"x": 1}',
        "--log-type",
        "Tail",
        str(out_file),
    )
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(out_file.read_text()) == {"got": {"x": 1}}
    assert json.loads(invoked.stdout)["StatusCode"] == 200
    listed = aws(server, "lambda", "list-functions")
    assert fname in {f["FunctionName"] for f in json.loads(listed.stdout)["Functions"]}
    published = aws(server, "lambda", "publish-version", "--function-name", fname)
    assert json.loads(published.stdout)["Version"] == "1"
    alias = aws(
        server,
        "lambda",
        "create-alias",
        "--function-name",
        fname,
        "--name",
        "live",
        "--function-version",
        "1",
    )
    assert alias.returncode == 0, alias.stderr
    identity = aws(server, "sts", "get-caller-identity")
    assert json.loads(identity.stdout)["Account"] == "123456789012"
    missing = aws(server, "lambda", "get-function", "--function-name", fname + "-nope")
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr
    deleted = aws(server, "lambda", "delete-function", "--function-name", fname)
    assert deleted.returncode == 0, deleted.stderr


def test_endpoint_url_flag(server: LiveServer, fname: str, create: Callable[..., Any]) -> None:
    create(fname)
    env = dict(os.environ)
    env.update(
        {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }
    )
    env.pop("AWS_ENDPOINT_URL_LAMBDA", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "awscli",
            "lambda",
            "get-function-configuration",
            "--function-name",
            fname,
            "--endpoint-url",
            server.endpoint,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["FunctionName"] == fname


def test_no_auth_mode_accepts_unsigned_requests(tmp_path: Path) -> None:
    import urllib.request

    live = LiveServer(
        data_dir=tmp_path, store_url=f"sqlite:///{tmp_path}/s.db", extra_args=("--no-auth",)
    )
    live.start()
    try:
        assert any("--no-auth" in line for line in live.output)
        with urllib.request.urlopen(live.endpoint + "/2015-03-31/functions") as response:
            assert json.loads(response.read()) == {"Functions": []}
        request = urllib.request.Request(
            live.endpoint + "/",
            data=b"Action=GetCallerIdentity&Version=2011-06-15",
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(request) as response:
            assert b"<Account>123456789012</Account>" in response.read()
    finally:
        live.stop()
