"""Versions and aliases, including routing weights applied at invoke time."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdahost.testing import make_zip


def handler_returning(value: str) -> dict[str, str | bytes]:
    return {"app.py": f"def handler(event, context):\n    return {value!r}\n"}


def test_publish_and_list_versions(lam: Any, create: Callable[..., Any], fname: str) -> None:
    created = create(fname, files=handler_returning("one"))
    v1 = lam.publish_version(FunctionName=fname, Description="first")
    assert v1["Version"] == "1"
    assert v1["FunctionArn"].endswith(f":{fname}:1")
    assert v1["Description"] == "first"
    again = lam.publish_version(FunctionName=fname)
    assert again["Version"] == "1", "publishing unchanged code returns the existing version"
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.publish_version(FunctionName=fname, CodeSha256="wrong")
    lam.update_function_code(FunctionName=fname, ZipFile=make_zip(handler_returning("two")))
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.publish_version(FunctionName=fname, RevisionId=created["RevisionId"])
    v2 = lam.publish_version(FunctionName=fname)
    assert v2["Version"] == "2"
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=fname)["Versions"]]
    assert versions == ["$LATEST", "1", "2"]
    assert json.loads(lam.invoke(FunctionName=fname, Qualifier="1")["Payload"].read()) == "one"
    out = lam.invoke(FunctionName=f"{fname}:2")
    assert out["ExecutedVersion"] == "2"
    assert json.loads(out["Payload"].read()) == "two"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName=fname, Qualifier="7")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.invoke(FunctionName=f"{fname}:1", Qualifier="2")


def test_publish_on_create_and_delete_version(
    lam: Any, create: Callable[..., Any], fname: str
) -> None:
    created = create(fname, Publish=True)
    assert created["Version"] == "1"
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.delete_function(FunctionName=fname, Qualifier="$LATEST")
    lam.create_alias(FunctionName=fname, Name="live", FunctionVersion="1")
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.delete_function(FunctionName=fname, Qualifier="1")
    lam.delete_alias(FunctionName=fname, Name="live")
    lam.delete_function(FunctionName=fname, Qualifier="1")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=fname, Qualifier="1")
    assert lam.get_function(FunctionName=fname)["Configuration"]["Version"] == "$LATEST"


def test_aliases_crud(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(fname, files=handler_returning("one"))
    lam.publish_version(FunctionName=fname)
    alias = lam.create_alias(FunctionName=fname, Name="prod", FunctionVersion="1", Description="p")
    assert alias["AliasArn"].endswith(f":{fname}:prod")
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.create_alias(FunctionName=fname, Name="prod", FunctionVersion="1")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.create_alias(FunctionName=fname, Name="x", FunctionVersion="9")
    got = lam.get_alias(FunctionName=fname, Name="prod")
    assert got["FunctionVersion"] == "1" and got["Description"] == "p"
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.update_alias(FunctionName=fname, Name="prod", Description="q", RevisionId="stale")
    updated = lam.update_alias(
        FunctionName=fname, Name="prod", FunctionVersion="$LATEST", RevisionId=got["RevisionId"]
    )
    assert updated["FunctionVersion"] == "$LATEST"
    out = lam.invoke(FunctionName=fname, Qualifier="prod")
    assert out["ExecutedVersion"] == "$LATEST"
    lam.create_alias(FunctionName=fname, Name="beta", FunctionVersion="1")
    names = [a["Name"] for a in lam.list_aliases(FunctionName=fname)["Aliases"]]
    assert names == ["beta", "prod"]
    assert [
        a["Name"] for a in lam.list_aliases(FunctionName=fname, FunctionVersion="1")["Aliases"]
    ] == ["beta"]
    lam.delete_alias(FunctionName=fname, Name="beta")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_alias(FunctionName=fname, Name="beta")
    with pytest.raises(ClientError):
        lam.create_alias(FunctionName=fname, Name="123", FunctionVersion="1")


def test_alias_routing_weights(lam: Any, create: Callable[..., Any], fname: str) -> None:
    create(fname, files=handler_returning("one"))
    lam.publish_version(FunctionName=fname)
    lam.update_function_code(FunctionName=fname, ZipFile=make_zip(handler_returning("two")))
    lam.publish_version(FunctionName=fname)
    lam.create_alias(
        FunctionName=fname,
        Name="canary",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}},
    )
    counts: Counter[str] = Counter()
    for _ in range(200):
        out = lam.invoke(FunctionName=fname, Qualifier="canary")
        payload = json.loads(out["Payload"].read())
        assert {"1": "one", "2": "two"}[out["ExecutedVersion"]] == payload
        counts[out["ExecutedVersion"]] += 1
    assert 30 <= counts["2"] <= 95, counts
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_alias(
            FunctionName=fname,
            Name="canary",
            RoutingConfig={"AdditionalVersionWeights": {"$LATEST": 0.5}},
        )
