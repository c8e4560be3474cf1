from __future__ import annotations

import io
import zipfile

import pytest

from lambdahost.core.clock import FakeClock, lambda_timestamp
from lambdahost.core.codezip import check_zip, safe_member_path
from lambdahost.core.environ import EnvironmentContext, build_environ
from lambdahost.core.logformat import InvocationReport, billed_duration_ms, report_line, tail
from lambdahost.core.routing import pick_version
from lambdahost.errors import ApiError


def test_report_line_format() -> None:
    line = report_line(InvocationReport("rid", "$LATEST", 2.42, 128, 71, 140.16))
    assert line == (
        "REPORT RequestId: rid\tDuration: 2.42 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 71 MB\tInit Duration: 140.16 ms\t\n"
    )
    timeout = report_line(InvocationReport("rid", "1", 3000.5, 128, 40, status="timeout"))
    assert "Status: timeout" in timeout and "Init Duration" not in timeout


def test_billed_duration() -> None:
    assert billed_duration_ms(0.2) == 1
    assert billed_duration_ms(2.0) == 2
    assert billed_duration_ms(2.01) == 3


def test_tail_is_last_4k() -> None:
    assert tail("x" * 5000 + "END").endswith(b"END")
    assert len(tail("x" * 5000)) == 4096


def test_lambda_timestamp() -> None:
    assert lambda_timestamp(FakeClock(0).time()) == "1970-01-01T00:00:00.000+0000"


def test_pick_version() -> None:
    assert pick_version("1", {"2": 0.3}, 0.1) == "2"
    assert pick_version("1", {"2": 0.3}, 0.5) == "1"
    assert pick_version("1", {}, 0.0) == "1"


@pytest.mark.parametrize(
    ("name", "safe"),
    [("a.py", "a.py"), ("d/../a.py", "a.py"), ("../a.py", None), ("/etc/x", None), ("C:/x", None)],
)
def test_safe_member_path(name: str, safe: str | None) -> None:
    assert safe_member_path(name) == safe


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_check_zip() -> None:
    checked = check_zip(_zip({"app.py": b"x=1"}))
    assert checked.unzipped_size == 3
    with pytest.raises(ApiError):
        check_zip(b"nope")
    with pytest.raises(ApiError) as exc:
        check_zip(_zip({"app.py": b"x" * 100}), unzipped_limit=50)
    assert "Unzipped size must be smaller than 50 bytes" in exc.value.message


def test_environ_platform_wins_over_customer() -> None:
    ctx = EnvironmentContext(
        function_name="f",
        version="$LATEST",
        handler="app.handler",
        runtime="python3.12",
        memory_mb=128,
        region="us-east-1",
        log_group="/aws/lambda/f",
        code_dir="/code",
        access_key_id="AK",
        secret_access_key="SK",
        endpoint_url="http://x",
    )
    env = build_environ(ctx, {"MY": "1", "AWS_REGION": "evil", "TZ": "Europe/Paris"}, 0.0)
    assert env["MY"] == "1" and env["AWS_REGION"] == "us-east-1" and env["TZ"] == "Europe/Paris"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"].startswith("1970/01/01/[$LATEST]")
