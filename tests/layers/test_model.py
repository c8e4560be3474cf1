"""Layers, pure: names, ARNs, publish validation, shapes and permission statements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lambdahost.core.config import validate_layers
from lambdahost.errors import ApiError
from lambdahost.layers import model
from lambdahost.layers.service import merge_trees

ARN = "arn:aws:lambda:us-east-1:123456789012:layer:my-layer"


def test_layer_names_and_version_arns() -> None:
    assert model.layer_name("my-layer") == "my-layer"
    assert model.layer_name(ARN) == "my-layer"
    with pytest.raises(ApiError) as e:
        model.layer_name("bad name")
    assert e.value.code == "ValidationException"
    ref = model.parse_version_arn(ARN + ":7")
    assert (ref.region, ref.account, ref.name, ref.version) == (
        "us-east-1",
        "123456789012",
        "my-layer",
        7,
    )
    with pytest.raises(ApiError):
        model.parse_version_arn(ARN)
    with pytest.raises(ApiError) as nf:
        model.version_number("0")
    assert nf.value.code == "ResourceNotFoundException"


def test_publish_document_and_shapes() -> None:
    doc = model.publish_document(
        {
            "Description": "d",
            "CompatibleRuntimes": ["python3.12", "nodejs20.x"],
            "CompatibleArchitectures": ["x86_64"],
            "LicenseInfo": "MIT",
        },
        now="2026-01-01T00:00:00.000+0000",
        sha256="abc=",
        size=10,
    )
    shape = model.version_shape(ARN, 3, doc, "http://loc")
    assert shape == {
        "LayerVersionArn": ARN + ":3",
        "Version": 3,
        "Description": "d",
        "CreatedDate": "2026-01-01T00:00:00.000+0000",
        "CompatibleRuntimes": ["python3.12", "nodejs20.x"],
        "LicenseInfo": "MIT",
        "CompatibleArchitectures": ["x86_64"],
        "LayerArn": ARN,
        "Content": {"Location": "http://loc", "CodeSha256": "abc=", "CodeSize": 10},
    }
    assert model.matches(doc, "python3.12", "x86_64")
    assert not model.matches(doc, "java21", None) and not model.matches(doc, None, "arm64")


@pytest.mark.parametrize(
    "body",
    [
        {"CompatibleRuntimes": ["cobol"]},
        {"CompatibleArchitectures": ["mips"]},
        {"Description": "x" * 257},
        {"LicenseInfo": 5},
    ],
)
def test_publish_refusals(body: dict[str, object]) -> None:
    with pytest.raises(ApiError):
        model.publish_document(body, now="t", sha256="", size=0)


def test_permissions_add_and_remove() -> None:
    policy, st = model.add_statement(
        None,
        {
            "StatementId": "all",
            "Action": "lambda:GetLayerVersion",
            "Principal": "*",
            "OrganizationId": "o-abcdefghij",
        },
        ARN + ":1",
    )
    assert st == {
        "Sid": "all",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "lambda:GetLayerVersion",
        "Resource": ARN + ":1",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}},
    }
    policy, st2 = model.add_statement(
        policy,
        {"StatementId": "one", "Principal": "210987654321", "Action": "lambda:GetLayerVersion"},
        ARN + ":1",
    )
    assert st2["Principal"] == {"AWS": "arn:aws:iam::210987654321:root"}
    assert json.loads(model.policy_text(policy))["Statement"][1]["Sid"] == "one"
    with pytest.raises(ApiError) as dup:
        model.add_statement(
            policy,
            {"StatementId": "one", "Principal": "*", "Action": "lambda:GetLayerVersion"},
            ARN + ":1",
        )
    assert dup.value.code == "ResourceConflictException"
    remaining = model.remove_statement(policy, "all")
    assert remaining is not None and [s["Sid"] for s in remaining["Statement"]] == ["one"]
    assert model.remove_statement(remaining, "one") is None
    with pytest.raises(ApiError) as missing:
        model.remove_statement(remaining, "nope")
    assert missing.value.code == "ResourceNotFoundException"


@pytest.mark.parametrize(
    "body",
    [
        {"StatementId": "s", "Action": "lambda:InvokeFunction", "Principal": "*"},
        {"StatementId": "s", "Action": "lambda:GetLayerVersion", "Principal": "someone"},
        {"StatementId": "bad id", "Action": "lambda:GetLayerVersion", "Principal": "*"},
        {
            "StatementId": "s",
            "Action": "lambda:GetLayerVersion",
            "Principal": "123456789012",
            "OrganizationId": "o-abcdefghij",
        },
    ],
)
def test_permission_refusals(body: dict[str, object]) -> None:
    with pytest.raises(ApiError):
        model.add_statement(None, body, ARN + ":1")


def test_function_layers_validation() -> None:
    assert validate_layers([ARN + ":1", ARN + "-b:2"]) == [ARN + ":1", ARN + "-b:2"]
    with pytest.raises(ApiError, match="Two different versions"):
        validate_layers([ARN + ":1", ARN + ":2"])
    with pytest.raises(ApiError) as too_many:
        validate_layers([f"{ARN}-{i}:1" for i in range(6)])
    assert too_many.value.code == "ValidationException"
    with pytest.raises(ApiError):
        validate_layers(["arn:aws:lambda:us-east-1:123456789012:function:f"])


def test_merge_trees_overlays_in_order(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "python").mkdir(parents=True)
    (b / "python").mkdir(parents=True)
    (a / "python" / "mod.py").write_text("A")
    (a / "python" / "only_a.py").write_text("a")
    (b / "python" / "mod.py").write_text("B")
    (b / "bin").mkdir()
    (b / "bin" / "tool").write_text("t")
    (b / "link").symlink_to("bin/tool")
    merge_trees([a, b], tmp_path / "merged")
    m = tmp_path / "merged"
    assert (m / "python" / "mod.py").read_text() == "B"
    assert (m / "python" / "only_a.py").read_text() == "a"
    assert (m / "link").is_symlink() and (m / "link").read_text() == "t"
    assert (a / "python" / "mod.py").read_text() == "A"  # sources untouched
