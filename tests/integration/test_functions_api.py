"""Function management through boto3 against a live server, on both stores."""

from __future__ import annotations

import base64
import hashlib
import io
import urllib.request
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdahost.testing import ROLE, make_zip
from tests.integration.conftest import HELLO


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_create_get_and_download_code(lam: Any, create: Callable[..., Any], fname: str) -> None:
    code = make_zip({"app.py": HELLO})
    created = create(
        fname,
        files={"app.py": HELLO},
        Timeout=30,
        MemorySize=256,
        Description="d",
        Environment={"Variables": {"AA": "1"}},
        EphemeralStorage={"Size": 1024},
        Tags={"team": "x"},
        Architectures=["arm64"],
    )
    assert created["FunctionName"] == fname
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{fname}"
    assert created["Version"] == "$LATEST"
    assert created["State"] == "Active" and created["LastUpdateStatus"] == "Successful"
    assert created["Timeout"] == 30 and created["MemorySize"] == 256
    assert created["Environment"] == {"Variables": {"AA": "1"}}
    assert created["EphemeralStorage"] == {"Size": 1024}
    assert created["Architectures"] == ["arm64"]
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(code).digest()).decode()
    got = lam.get_function(FunctionName=fname)
    assert got["Configuration"]["RevisionId"] == created["RevisionId"]
    assert got["Tags"] == {"team": "x"}
    with urllib.request.urlopen(got["Code"]["Location"]) as response:
        downloaded = response.read()
    assert downloaded == code
    assert zipfile.ZipFile(io.BytesIO(downloaded)).read("app.py").decode() == HELLO
    cfg = lam.get_function_configuration(FunctionName=fname)
    assert cfg["Handler"] == "app.handler"
    lam.get_waiter("function_active_v2").wait(FunctionName=fname)


def test_function_name_forms(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(fname)
    for form in (
        fname,
        f"123456789012:function:{fname}",
        f"arn:aws:lambda:us-east-1:123456789012:function:{fname}",
        f"arn:aws:lambda:us-east-1:123456789012:function:{fname}:$LATEST",
    ):
        assert lam.get_function_configuration(FunctionName=form)["FunctionName"] == fname


def test_duplicate_create_is_a_conflict(lam: Any, create: Callable[..., Any], fname: str) -> None:
    first = create(fname)
    with pytest.raises(lam.exceptions.ResourceConflictException) as exc:
        create(fname, files={"app.py": "x = 1"})
    assert f"Function already exist: {fname}" in str(exc.value)
    assert lam.get_function_configuration(FunctionName=fname)["CodeSha256"] == first["CodeSha256"]


def test_unknown_function(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as exc:
        lam.get_function(FunctionName="does-not-exist")
    assert exc.value.response["Error"]["Message"] == (
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:does-not-exist"
    )
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.delete_function(FunctionName="does-not-exist")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="does-not-exist")


@pytest.mark.parametrize("bad_name", ["bad name", "a" * 65, "fn!", "arn:aws:s3:::bucket"])
def test_invalid_names(lam: Any, bad_name: str) -> None:
    with pytest.raises(ClientError) as exc:
        lam.create_function(
            FunctionName=bad_name,
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": make_zip({"app.py": HELLO})},
        )
    assert error_code(exc) in ("ValidationException", "InvalidParameterValueException")
    with pytest.raises(ClientError) as exc2:
        lam.get_function(FunctionName=bad_name)
    assert error_code(exc2) == "ValidationException"


@pytest.mark.parametrize(
    ("overrides", "code", "needle"),
    [
        ({"Runtime": "cobol9"}, "ValidationException", "runtime"),
        ({"Runtime": "python2.7"}, "InvalidParameterValueException", "no longer supported"),
        ({"Timeout": 901}, "ValidationException", "less than or equal to 900"),
        ({"MemorySize": 10241}, "ValidationException", "less than or equal to 10240"),
        ({"EphemeralStorage": {"Size": 10241}}, "ValidationException", "10240"),
        ({"Role": "not-a-role"}, "ValidationException", "role"),
        (
            {"Environment": {"Variables": {"AWS_REGION": "x"}}},
            "InvalidParameterValueException",
            "reserved keys",
        ),
        (
            {"Environment": {"Variables": {"BIG": "x" * 5000}}},
            "InvalidParameterValueException",
            "4KB",
        ),
        ({"Architectures": ["sparc"]}, "ValidationException", "architectures"),
    ],
)
def test_bad_configuration_changes_nothing(
    lam: Any,
    create: Callable[..., Any],
    fname: str,
    overrides: dict[str, Any],
    code: str,
    needle: str,
) -> None:
    with pytest.raises(ClientError) as exc:
        create(fname, **overrides)
    assert error_code(exc) == code
    assert needle in exc.value.response["Error"]["Message"]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=fname)


def test_malformed_and_escaping_archives(lam: Any, fname: str) -> None:
    def attempt(data: bytes) -> str:
        with pytest.raises(lam.exceptions.InvalidParameterValueException) as exc:
            lam.create_function(
                FunctionName=fname,
                Runtime="python3.12",
                Role=ROLE,
                Handler="app.handler",
                Code={"ZipFile": data},
            )
        return str(exc.value.response["Error"]["Message"])

    assert "Could not unzip uploaded file" in attempt(b"this is not a zip")
    assert "Could not unzip uploaded file" in attempt(make_zip({"app.py": HELLO})[:-30])
    assert "outside" in attempt(make_zip({"../evil.py": "x=1", "app.py": HELLO}))
    assert "outside" in attempt(make_zip({"/etc/evil.py": "x=1"}))
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=fname)


def test_archive_over_250_mb_unzipped(lam: Any, fname: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", HELLO)
        archive.writestr("big.bin", b"\0" * (251 * 1024 * 1024))
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as exc:
        lam.create_function(
            FunctionName=fname,
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": buffer.getvalue()},
        )
    assert "Unzipped size must be smaller than 262144000 bytes" in str(exc.value)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=fname)


def test_list_functions_paging(lam: Any, create: Callable[..., Any], fname: str) -> None:
    names = {f"{fname}-{i}" for i in range(5)}
    for name in names:
        create(name)
    seen: list[str] = []
    marker = None
    while True:
        kwargs: dict[str, Any] = {"MaxItems": 2}
        if marker:
            kwargs["Marker"] = marker
        page = lam.list_functions(**kwargs)
        assert len(page["Functions"]) <= 2
        seen.extend(f["FunctionName"] for f in page["Functions"])
        marker = page.get("NextMarker")
        if not marker:
            break
    assert names <= set(seen)
    assert len(seen) == len(set(seen))
    paginated = [
        f["FunctionName"]
        for p in lam.get_paginator("list_functions").paginate()
        for f in p["Functions"]
    ]
    assert names <= set(paginated)


def test_update_configuration_and_code_with_revision_ids(
    lam: Any, create: Callable[..., Any], fname: str
) -> None:
    created = create(fname)
    updated = lam.update_function_configuration(
        FunctionName=fname,
        Timeout=10,
        RevisionId=created["RevisionId"],
        Environment={"Variables": {"BB": "2"}},
    )
    assert updated["Timeout"] == 10 and updated["RevisionId"] != created["RevisionId"]
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.update_function_configuration(
            FunctionName=fname, Timeout=20, RevisionId=created["RevisionId"]
        )
    assert lam.get_function_configuration(FunctionName=fname)["Timeout"] == 10
    new_code = make_zip({"app.py": "def handler(e, c):\n    return 'v2'\n"})
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.update_function_code(
            FunctionName=fname, ZipFile=new_code, RevisionId=created["RevisionId"]
        )
    code_updated = lam.update_function_code(
        FunctionName=fname, ZipFile=new_code, RevisionId=updated["RevisionId"]
    )
    assert code_updated["CodeSha256"] != created["CodeSha256"]
    assert code_updated["Environment"] == {"Variables": {"BB": "2"}}
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname)
    assert lam.invoke(FunctionName=fname)["Payload"].read() == b'"v2"'
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_function_code(FunctionName=fname, ZipFile=b"garbage")
    assert (
        lam.get_function_configuration(FunctionName=fname)["CodeSha256"]
        == code_updated["CodeSha256"]
    )


def test_tags(lam: Any, create: Callable[..., Any], fname: str) -> None:
    arn = create(fname, Tags={"a": "1"})["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={"b": "2", "c": "3"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"a": "1", "b": "2", "c": "3"}
    lam.untag_resource(Resource=arn, TagKeys=["a", "c"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"b": "2"}
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.tag_resource(Resource=arn + ":1", Tags={"x": "y"})
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.list_tags(Resource=arn.replace(fname, fname + "-missing"))


def test_account_settings(lam: Any) -> None:
    settings = lam.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountLimit"]["CodeSizeUnzipped"] == 262144000
    assert settings["AccountUsage"]["FunctionCount"] >= 0


def test_delete_function(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(fname)
    lam.delete_function(FunctionName=fname)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=fname)
