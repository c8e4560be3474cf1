"""Function scaling configs and function versions by capacity provider, on both stores."""

from __future__ import annotations

from lambdahost.store import open_store
from lambdahost.store.scaling import ScalingRow

ARN = "arn:aws:lambda:us-east-1:123456789012:capacity-provider:cp_1"
OTHER = "arn:aws:lambda:us-east-1:123456789012:capacity-provider:cpX1"


def lmi(arn: str) -> dict[str, object]:
    return {
        "CapacityProviderConfig": {
            "LambdaManagedInstancesCapacityProviderConfig": {"CapacityProviderArn": arn}
        },
        "State": "ActiveNonInvocable",
    }


def test_scaling_configs_round_trip_and_follow_their_version(store_url: str) -> None:
    store = open_store(store_url)
    repo = store.scaling
    store.functions.create("f", 1.0, {}, lmi(ARN), "r1")
    assert store.functions.publish("f", {**lmi(ARN), "State": "Active"}, "p1", "r1") == "1"
    assert repo.put(ScalingRow("f", "7", 1, 2)) is False  # no such version
    assert repo.put(ScalingRow("f", "1", 1, None)) is True
    assert repo.get("f", "1") == ScalingRow("f", "1", 1, None)
    assert repo.put(ScalingRow("f", "1", None, 3)) is True  # replaces
    assert repo.list() == [ScalingRow("f", "1", None, 3)]
    assert store.functions.delete_version("f", "1") is True
    assert repo.get("f", "1") is None
    assert store.functions.publish("f", {**lmi(ARN), "State": "Active"}, "p2", "r1") == "2"
    assert repo.put(ScalingRow("f", "2", 0, 0)) is True
    assert store.functions.delete("f") is True
    assert repo.list() == []
    store.close()


def test_function_versions_by_capacity_provider(store_url: str) -> None:
    store = open_store(store_url)
    store.functions.create("a", 1.0, {}, lmi(ARN), "r1")
    store.functions.publish("a", {**lmi(ARN), "State": "Active"}, "p1", "r1")
    store.functions.create("b", 1.0, {}, lmi(OTHER), "r2")  # "_" in ARN's LIKE matches X
    store.functions.create("c", 1.0, {}, {"State": "Active"}, "r3")
    assert store.capacity.function_versions(ARN) == [
        ("a", "$LATEST", "ActiveNonInvocable"),
        ("a", "1", "Active"),
    ]
    assert store.capacity.function_versions(OTHER) == [("b", "$LATEST", "ActiveNonInvocable")]
    store.close()
