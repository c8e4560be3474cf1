"""``lambdahost``: up, deploy, invoke, logs, ls.

Every failure is printed as one readable line (``Error: ...``) with a non-zero
exit code, never a traceback.
"""

from __future__ import annotations

import base64
import io
import json
import os
import platform as host_platform
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import click

from lambdahost.cli.client import lambda_client, resolve_target, signed_get


def _fail(message: str) -> None:
    raise click.ClickException(message)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            raise click.exceptions.Exit(130) from None
        except Exception as exc:  # one line, never a traceback
            raise click.ClickException(_describe(exc)) from None


def _describe(exc: Exception) -> str:
    try:
        from botocore.exceptions import ClientError, EndpointConnectionError
    except ImportError:  # pragma: no cover
        return str(exc)
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach lambdahost at {exc.kwargs.get('endpoint_url')}: is `lambdahost up` running?"
    return f"{type(exc).__name__}: {exc}"


@click.group(cls=_Group)
@click.version_option(package_name="lambdahost")
def main() -> None:
    """Run AWS Lambda functions on your own machine."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=9000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where functions, code and logs are kept (default ~/.lambdahost).",
)
@click.option(
    "--store-url",
    envvar="LAMBDAHOST_STORE_URL",
    default=None,
    help="sqlite:///PATH (default, in the data dir) or postgresql://...",
)
@click.option("--region", default="us-east-1", show_default=True)
@click.option(
    "--idle-timeout",
    default=600.0,
    show_default=True,
    type=float,
    help="Seconds an idle execution environment is kept warm.",
)
@click.option(
    "--no-auth", is_flag=True, help="Accept unsigned requests (throwaway local use only)."
)
@click.option(
    "--max-environments",
    default=1000,
    show_default=True,
    type=int,
    help="Execution environments this host may hold; idle ones are evicted first (LRU).",
)
@click.option(
    "--memory-budget",
    "memory_budget_mb",
    default=None,
    type=int,
    help=(
        "MB of memory environments may really use together (cgroup charge or RSS, not "
        "MemorySize); idle ones are evicted (LRU) before a new one is refused. "
        "Default: 75% of the host's memory (or of a container's limit); 0: no budget."
    ),
)
@click.option(
    "--retry-time-scale",
    default=1.0,
    type=float,
    hidden=True,
    help="Multiply async retry delays and event ages (tests use e.g. 0.01).",
)
def up(
    host: str,
    port: int,
    data_dir: Path | None,
    store_url: str | None,
    region: str,
    idle_timeout: float,
    no_auth: bool,
    retry_time_scale: float,
    max_environments: int,
    memory_budget_mb: int | None,
) -> None:
    """Start lambdahost and serve the Lambda API."""
    from lambdahost.app.platform import Platform
    from lambdahost.server import serve
    from lambdahost.settings import Settings, default_data_dir

    settings = Settings(
        host=host,
        port=port,
        data_dir=(data_dir or default_data_dir()).resolve(),
        store_url=store_url,
        region=region,
        auth=not no_auth,
        access_key_id=os.environ.get("LAMBDAHOST_ACCESS_KEY_ID"),
        secret_access_key=os.environ.get("LAMBDAHOST_SECRET_ACCESS_KEY"),
        idle_timeout_s=idle_timeout,
        event_time_scale=retry_time_scale,
        max_environments=max_environments,
        memory_budget_mb=memory_budget_mb,
    )

    def announce(platform: Platform) -> None:
        keys = platform.keys
        store = settings.resolved_store_url().split("@")[-1]
        if no_auth:
            click.echo("WARNING: --no-auth: requests are not authenticated.")
        click.echo(f"lambdahost is ready at {settings.endpoint}  (store: {store})")
        click.echo("Use it from boto3 and the AWS CLI with:")
        click.echo(f"  export AWS_ENDPOINT_URL_LAMBDA={settings.endpoint}")
        click.echo(f"  export AWS_ENDPOINT_URL_STS={settings.endpoint}")
        click.echo(f"  export AWS_ENDPOINT_URL_SQS={settings.endpoint}")
        click.echo(f"  export AWS_ACCESS_KEY_ID={keys.access_key_id}")
        click.echo(f"  export AWS_SECRET_ACCESS_KEY={keys.secret_access_key}")
        click.echo(f"  export AWS_DEFAULT_REGION={settings.region}")
        click.echo(f"(or pass --endpoint-url {settings.endpoint} to each aws command)")
        sys.stdout.flush()

    try:
        serve(settings, announce)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def _endpoint_option(fn: Any) -> Any:
    fn = click.option(
        "--endpoint-url",
        default=None,
        help="lambdahost endpoint (default from env or http://127.0.0.1:9000).",
    )(fn)
    fn = click.option(
        "--data-dir",
        type=click.Path(path_type=Path),
        default=None,
        help="Data dir holding saved credentials (default ~/.lambdahost).",
    )(fn)
    return fn


def zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if "__pycache__" in path.parts or path.is_dir():
                continue
            info = zipfile.ZipInfo(
                str(path.relative_to(directory)), date_time=(1980, 1, 1, 0, 0, 0)
            )
            info.external_attr = (path.stat().st_mode & 0o777) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--name", default=None, help="Function name (default: the directory's name).")
@click.option("--handler", default="app.handler", show_default=True)
@click.option("--runtime", default=None, help="Runtime (default: this host's python3.x).")
@click.option("--memory", type=int, default=None, help="MemorySize in MB.")
@click.option("--timeout", type=int, default=None, help="Timeout in seconds.")
@click.option(
    "--env", "env_vars", multiple=True, help="KEY=VALUE environment variable (repeatable)."
)
@click.option("--publish", is_flag=True, help="Publish a version after deploying.")
@_endpoint_option
def deploy(
    directory: Path,
    name: str | None,
    handler: str,
    runtime: str | None,
    memory: int | None,
    timeout: int | None,
    env_vars: tuple[str, ...],
    publish: bool,
    endpoint_url: str | None,
    data_dir: Path | None,
) -> None:
    """Zip DIRECTORY and create or update the function."""
    target = resolve_target(endpoint_url, data_dir)
    client = lambda_client(target)
    function = name or directory.resolve().name
    code = zip_directory(directory)
    runtime = runtime or "python{}.{}".format(*host_platform.python_version_tuple()[:2])
    config: dict[str, Any] = {"Handler": handler, "Runtime": runtime}
    if memory is not None:
        config["MemorySize"] = memory
    if timeout is not None:
        config["Timeout"] = timeout
    if env_vars:
        pairs = dict(item.split("=", 1) for item in env_vars if "=" in item)
        config["Environment"] = {"Variables": pairs}
    try:
        client.get_function_configuration(FunctionName=function)
        exists = True
    except client.exceptions.ResourceNotFoundException:
        exists = False
    if exists:
        client.update_function_configuration(FunctionName=function, **config)
        result = client.update_function_code(FunctionName=function, ZipFile=code, Publish=publish)
        action = "updated"
    else:
        account = os.environ.get("LAMBDAHOST_ACCOUNT_ID", "123456789012")
        result = client.create_function(
            FunctionName=function,
            Role=f"arn:aws:iam::{account}:role/lambdahost-default",
            Code={"ZipFile": code},
            Publish=publish,
            **config,
        )
        action = "created"
    click.echo(
        f"{action} {function} (version {result['Version']}, {len(code)} bytes, "
        f"CodeSha256 {result['CodeSha256']})"
    )


@main.command()
@click.argument("name")
@click.argument("payload", required=False, default=None)
@click.option("--qualifier", default=None, help="Version or alias.")
@click.option("--event", "as_event", is_flag=True, help="Invoke asynchronously (Event).")
@click.option("--log", "show_log", is_flag=True, help="Print the invocation's log tail to stderr.")
@_endpoint_option
def invoke(
    name: str,
    payload: str | None,
    qualifier: str | None,
    as_event: bool,
    show_log: bool,
    endpoint_url: str | None,
    data_dir: Path | None,
) -> None:
    """Invoke function NAME with a JSON PAYLOAD (or - for stdin)."""
    if payload == "-":
        payload = sys.stdin.read()
    body = (payload if payload is not None else "{}").encode()
    client = lambda_client(resolve_target(endpoint_url, data_dir))
    kwargs: dict[str, Any] = {"FunctionName": name, "Payload": body}
    if qualifier:
        kwargs["Qualifier"] = qualifier
    if as_event:
        response = client.invoke(InvocationType="Event", **kwargs)
        click.echo(f"accepted (request id {response['ResponseMetadata']['RequestId']})")
        return
    response = client.invoke(LogType="Tail" if show_log else "None", **kwargs)
    if show_log and response.get("LogResult"):
        click.echo(
            base64.b64decode(response["LogResult"]).decode(errors="replace"), err=True, nl=False
        )
    click.echo(response["Payload"].read().decode(errors="replace"))
    if response.get("FunctionError"):
        sys.exit(1)


@main.command()
@click.argument("name")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines.")
@click.option(
    "--tail", "tail_bytes", type=int, default=None, help="Start this many bytes from the end."
)
@_endpoint_option
def logs(
    name: str, follow: bool, tail_bytes: int | None, endpoint_url: str | None, data_dir: Path | None
) -> None:
    """Show the logs of function NAME."""
    target = resolve_target(endpoint_url, data_dir)
    offset = -tail_bytes if tail_bytes else 0
    while True:
        status, headers, body = signed_get(
            target, f"/_lambdahost/v1/functions/{name}/logs?offset={offset}"
        )
        if status != 200:
            _fail(_error_text(body, status))
        if body:
            sys.stdout.write(body.decode("utf-8", "replace"))
            sys.stdout.flush()
        offset = int(
            {k.lower(): v for k, v in headers.items()}.get("x-lambdahost-next-offset", offset)
        )
        if not follow:
            return
        if not body:
            time.sleep(0.5)


def _error_text(body: bytes, status: int) -> str:
    try:
        data = json.loads(body)
        return str(data.get("message") or data.get("Message") or body.decode())
    except ValueError:
        return f"HTTP {status}: {body.decode(errors='replace')}"


@main.command(name="ls")
@_endpoint_option
def list_functions(endpoint_url: str | None, data_dir: Path | None) -> None:
    """List functions and their warm environments."""
    target = resolve_target(endpoint_url, data_dir)
    client = lambda_client(target)
    functions: list[dict[str, Any]] = []
    for page in client.get_paginator("list_functions").paginate():
        functions.extend(page["Functions"])
    status, _, body = signed_get(target, "/_lambdahost/v1/environments")
    warm: dict[str, int] = {}
    if status == 200:
        for env in json.loads(body).get("Environments", []):
            if env.get("State") == "TEMPLATE":
                continue  # a SnapStart snapshot, not an environment that serves invokes
            owner = str(env.get("Key", "")).split(":", 1)[0]
            warm[owner] = warm.get(owner, 0) + 1
    if not functions:
        click.echo("no functions")
        return
    click.echo(
        f"{'NAME':<32} {'RUNTIME':<12} {'MEMORY':>6} {'TIMEOUT':>7} {'WARM':>4}  LAST MODIFIED"
    )
    for fn in functions:
        click.echo(
            f"{fn['FunctionName']:<32} {fn.get('Runtime', ''):<12} {fn['MemorySize']:>6} "
            f"{fn['Timeout']:>7} {warm.get(fn['FunctionName'], 0):>4}  {fn['LastModified']}"
        )


@main.command()
@click.argument("name", required=False)
@_endpoint_option
def stats(name: str | None, endpoint_url: str | None, data_dir: Path | None) -> None:
    """Per-function concurrency, throttles, cold starts (and SnapStart restores among them),
    errors and provisioned-concurrency use (busy/allocated) since the server started."""
    target = resolve_target(endpoint_url, data_dir)
    status, _, body = signed_get(target, "/_lambdahost/v1/stats")
    if status != 200:
        _fail(_error_text(body, status))
    rows = [r for r in json.loads(body)["Functions"] if name is None or r["FunctionName"] == name]
    if not rows:
        click.echo("no invocations yet" if name is None else f"no invocations of {name} yet")
        return
    click.echo(
        f"{'NAME':<32} {'CONC':>5} {'PEAK':>5} {'RESERVED':>8} {'INVOKES':>8} {'THROTTLES':>9} "
        f"{'COLD':>6} {'ERRORS':>6} {'RESTORES':>8} {'PROVISIONED':>11}"
    )
    for r in rows:
        reserved = (
            "-" if r["ReservedConcurrentExecutions"] is None else r["ReservedConcurrentExecutions"]
        )
        click.echo(
            f"{r['FunctionName']:<32} {r['ConcurrentExecutions']:>5} {r['PeakConcurrentExecutions']:>5} "
            f"{reserved:>8} {r['Invocations']:>8} {r['Throttles']:>9} {r['ColdStarts']:>6} "
            f"{r['Errors']:>6} {r.get('Restores', 0):>8} {_provisioned_use(r):>11}"
        )


def _provisioned_use(row: dict[str, Any]) -> str:
    """``busy/allocated`` over the function's provisioned-concurrency configurations."""
    configs = row.get("ProvisionedConcurrency") or []
    if not configs:
        return "-"
    allocated = sum(int(c["AllocatedProvisionedConcurrentExecutions"]) for c in configs)
    available = sum(int(c["AvailableProvisionedConcurrentExecutions"]) for c in configs)
    return f"{allocated - available}/{allocated}"


@main.command(name="queue")
@_endpoint_option
def event_queue(endpoint_url: str | None, data_dir: Path | None) -> None:
    """Show the durable Event queue: depth and the age of the oldest event."""
    target = resolve_target(endpoint_url, data_dir)
    status, _, body = signed_get(target, "/_lambdahost/v1/event-queue")
    if status != 200:
        _fail(_error_text(body, status))
    stats = json.loads(body)
    age = stats["OldestAgeSeconds"]
    click.echo(f"Event queue depth: {stats['Depth']}" + (f", oldest {age:.1f} s" if age else ""))
    for row in stats["Functions"]:
        click.echo(f"  {row['FunctionName']:<32} {row['Depth']:>8}")


def _failure_queues(client: Any, name: str) -> list[str]:
    """The function's DLQ and any SQS on-failure destinations (as queue ARNs)."""
    queues: list[str] = []
    config = client.get_function_configuration(FunctionName=name)
    dlq = (config.get("DeadLetterConfig") or {}).get("TargetArn")
    if dlq:
        queues.append(dlq)
    for item in client.list_function_event_invoke_configs(FunctionName=name)[
        "FunctionEventInvokeConfigs"
    ]:
        target = ((item.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if target and ":sqs:" in target and target not in queues:
            queues.append(target)
    return queues


def _sqs_client(target: Any) -> Any:
    import boto3

    return boto3.client(
        "sqs",
        endpoint_url=target.endpoint,
        region_name=target.region,
        aws_access_key_id=target.access_key_id,
        aws_secret_access_key=target.secret_access_key,
    )


def _queue_url(sqs: Any, arn: str) -> str:
    account, queue = arn.split(":")[4], arn.split(":")[5]
    return str(sqs.get_queue_url(QueueName=queue, QueueOwnerAWSAccountId=account)["QueueUrl"])


def _original_payload(body: str) -> str:
    """A DLQ message is the event itself; an on-failure record wraps it in requestPayload."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if isinstance(data, dict) and "requestContext" in data and "requestPayload" in data:
        return json.dumps(data["requestPayload"])
    return body


@main.command()
@click.argument("name")
@click.option("--limit", default=10, show_default=True, help="Messages to show per queue.")
@_endpoint_option
def dlq(name: str, limit: int, endpoint_url: str | None, data_dir: Path | None) -> None:
    """Show the failed events of function NAME (its DLQ and on-failure queues)."""
    target = resolve_target(endpoint_url, data_dir)
    client = lambda_client(target)
    queues = _failure_queues(client, name)
    if not queues:
        click.echo(f"{name} has no dead-letter queue or on-failure queue")
        return
    sqs = _sqs_client(target)
    for arn in queues:
        url = _queue_url(sqs, arn)
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        click.echo(f"{arn}: {attributes.get('ApproximateNumberOfMessages', '?')} messages")
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(10, limit),
            VisibilityTimeout=0,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        for message in messages[:limit]:
            error = (message.get("MessageAttributes") or {}).get("ErrorMessage", {})
            reason = f"  ({error.get('StringValue')})" if error else ""
            click.echo(f"  {message['MessageId']}  {message['Body'][:200]}{reason}")


@main.command()
@click.argument("name")
@click.option(
    "--queue", "queue_arn", default=None, help="Only this queue (default: all of NAME's)."
)
@_endpoint_option
def redrive(
    name: str, queue_arn: str | None, endpoint_url: str | None, data_dir: Path | None
) -> None:
    """Replay NAME's failed events: each is invoked again (Event) and removed from its queue."""
    target = resolve_target(endpoint_url, data_dir)
    client = lambda_client(target)
    sqs = _sqs_client(target)
    total = 0
    for arn in [queue_arn] if queue_arn else _failure_queues(client, name):
        url = _queue_url(sqs, arn)
        while True:
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                payload = _original_payload(message["Body"]).encode()
                client.invoke(FunctionName=name, InvocationType="Event", Payload=payload)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                total += 1
    click.echo(f"redrove {total} event{'s' if total != 1 else ''} to {name}")


@main.group()
def durable() -> None:
    """Durable executions: list, history, callbacks, stop."""


@durable.command(name="ls")
@click.argument("name")
@click.option("--qualifier", default=None, help="Only executions of this version or alias.")
@click.option("--status", "statuses", multiple=True, help="RUNNING, SUCCEEDED, FAILED, ...")
@_endpoint_option
def durable_ls(
    name: str,
    qualifier: str | None,
    statuses: tuple[str, ...],
    endpoint_url: str | None,
    data_dir: Path | None,
) -> None:
    """List the durable executions of function NAME, newest first."""
    client = lambda_client(resolve_target(endpoint_url, data_dir))
    kwargs: dict[str, Any] = {"FunctionName": name}
    if qualifier:
        kwargs["Qualifier"] = qualifier
    if statuses:
        kwargs["Statuses"] = list(statuses)
    executions = []
    for page in client.get_paginator("list_durable_executions_by_function").paginate(**kwargs):
        executions.extend(page.get("DurableExecutions", []))
    if not executions:
        click.echo("no executions")
        return
    click.echo(f"{'STATUS':<10} {'STARTED':<26} NAME / ARN")
    for execution in executions:
        started = str(execution.get("StartTimestamp", ""))[:25]
        click.echo(
            f"{execution.get('Status', ''):<10} {started:<26} "
            f"{execution.get('DurableExecutionName', '')}  {execution['DurableExecutionArn']}"
        )


@durable.command(name="history")
@click.argument("arn")
@_endpoint_option
def durable_history(arn: str, endpoint_url: str | None, data_dir: Path | None) -> None:
    """Show an execution's history as a timeline."""
    from lambdahost.durable.views import timeline

    client = lambda_client(resolve_target(endpoint_url, data_dir))
    events: list[dict[str, Any]] = []
    for page in client.get_paginator("get_durable_execution_history").paginate(
        DurableExecutionArn=arn, IncludeExecutionData=True
    ):
        events.extend(page.get("Events", []))
    for row in timeline(events):
        click.echo(
            f"+{row['Offset']:>9.3f}s  {row['EventType']:<22} {row['Name']:<24} {row['Details']}"
        )


@durable.command(name="callback")
@click.argument("callback_id")
@click.option("--result", default=None, help="Succeed the callback with this result (JSON).")
@click.option("--error", "error_message", default=None, help="Fail the callback with this message.")
@click.option("--heartbeat", is_flag=True, help="Send a heartbeat instead.")
@_endpoint_option
def durable_callback(
    callback_id: str,
    result: str | None,
    error_message: str | None,
    heartbeat: bool,
    endpoint_url: str | None,
    data_dir: Path | None,
) -> None:
    """Complete (or heartbeat) callback CALLBACK_ID."""
    client = lambda_client(resolve_target(endpoint_url, data_dir))
    if heartbeat:
        client.send_durable_execution_callback_heartbeat(CallbackId=callback_id)
        click.echo("heartbeat sent")
    elif error_message is not None:
        client.send_durable_execution_callback_failure(
            CallbackId=callback_id, Error={"ErrorMessage": error_message}
        )
        click.echo("callback failed")
    else:
        client.send_durable_execution_callback_success(
            CallbackId=callback_id, Result=(result or "null").encode()
        )
        click.echo("callback succeeded")


@durable.command(name="stop")
@click.argument("arn")
@click.option("--message", default=None, help="Error message recorded on the execution.")
@_endpoint_option
def durable_stop(
    arn: str, message: str | None, endpoint_url: str | None, data_dir: Path | None
) -> None:
    """Stop a running execution."""
    client = lambda_client(resolve_target(endpoint_url, data_dir))
    kwargs: dict[str, Any] = {"DurableExecutionArn": arn}
    if message:
        kwargs["Error"] = {"ErrorMessage": message}
    stopped = client.stop_durable_execution(**kwargs)
    click.echo(f"stopped at {stopped.get('StopTimestamp', '')}")


if __name__ == "__main__":
    main()
