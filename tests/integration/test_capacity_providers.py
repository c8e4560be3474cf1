"""Capacity providers (Lambda Managed Instances) through boto3."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

VPC = {"SubnetIds": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}
PERMISSIONS = {"CapacityProviderOperatorRoleArn": "arn:aws:iam::123456789012:role/operator"}


def test_capacity_provider_lifecycle(lam: Any) -> None:
    name = f"cp-{uuid.uuid4().hex[:8]}"
    created = lam.create_capacity_provider(
        CapacityProviderName=name,
        VpcConfig=VPC,
        PermissionsConfig=PERMISSIONS,
        CapacityProviderScalingConfig={"MaxVCpuCount": 4},
    )["CapacityProvider"]
    assert (
        created["CapacityProviderArn"]
        == f"arn:aws:lambda:us-east-1:123456789012:capacity-provider:{name}"
    )
    assert created["State"] == "Active"
    assert created["CapacityProviderScalingConfig"]["MaxVCpuCount"] == 4
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.create_capacity_provider(
            CapacityProviderName=name, VpcConfig=VPC, PermissionsConfig=PERMISSIONS
        )
    got = lam.get_capacity_provider(CapacityProviderName=created["CapacityProviderArn"])[
        "CapacityProvider"
    ]
    assert got["VpcConfig"] == VPC
    updated = lam.update_capacity_provider(
        CapacityProviderName=name, CapacityProviderScalingConfig={"MaxVCpuCount": 8}
    )["CapacityProvider"]
    assert updated["CapacityProviderScalingConfig"]["MaxVCpuCount"] == 8
    names = [
        p["CapacityProviderArn"].rsplit(":", 1)[1]
        for p in lam.list_capacity_providers()["CapacityProviders"]
    ]
    assert name in names
    versions = lam.list_function_versions_by_capacity_provider(CapacityProviderName=name)
    assert versions["FunctionVersions"] == []
    assert (
        lam.delete_capacity_provider(CapacityProviderName=name)["CapacityProvider"]["State"]
        == "Deleting"
    )
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_capacity_provider(CapacityProviderName=name)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"CapacityProviderScalingConfig": {"MaxVCpuCount": 15001}},
        {"PermissionsConfig": {"CapacityProviderOperatorRoleArn": "not-a-role"}},
        {"CapacityProviderName": "bad name!"},
    ],
)
def test_bad_capacity_provider_is_refused(lam: Any, kwargs: dict[str, Any]) -> None:
    params: dict[str, Any] = {
        "CapacityProviderName": f"cp-{uuid.uuid4().hex[:8]}",
        "VpcConfig": VPC,
        "PermissionsConfig": PERMISSIONS,
    }
    params.update(kwargs)
    with pytest.raises(ClientError) as exc:
        lam.create_capacity_provider(**params)
    assert exc.value.response["Error"]["Code"] in (
        "ValidationException",
        "InvalidParameterValueException",
    )
    with pytest.raises(ClientError):
        lam.get_capacity_provider(CapacityProviderName=params["CapacityProviderName"])
