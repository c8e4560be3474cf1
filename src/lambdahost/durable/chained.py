"""Chained invokes (``context.invoke``): resolving targets, running plain targets.

Targets are resolved before a checkpoint is applied (the pure core cannot do
I/O): same account and region only; a durable target must be qualified, as for
Invoke. A durable target becomes a child execution inside the checkpoint's own
transaction; a plain target is a stored ``target`` timer, run here once and
again after a restart if its outcome was not recorded (at least once).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from lambdahost.core.arns import parse_function_name
from lambdahost.durable.journal import Target
from lambdahost.durable.lifecycle import complete_chained
from lambdahost.durable.model import OpStatus, OpType
from lambdahost.durable.updates import INVOKE_PAYLOAD_LIMIT, Update
from lambdahost.errors import ApiError, invalid_parameter

if TYPE_CHECKING:
    from lambdahost.durable.engine import DurableEngine

log = logging.getLogger("lambdahost.durable")
UNQUALIFIED = "You cannot invoke a durable function using an unqualified ARN."


async def resolve(engine: DurableEngine, updates: list[Update]) -> dict[str, Target]:
    found: dict[str, Target] = {}
    here = engine.platform.settings
    for update in updates:
        name = update.invoke_function
        if update.type is not OpType.CHAINED_INVOKE or name is None or name in found:
            continue
        try:
            ref = parse_function_name(name)
            if name.startswith("arn:") and (
                f":{here.region}:" not in name or f":{here.account_id}:" not in name
            ):
                raise invalid_parameter(
                    "Chained invokes must target a function in the same account and region."
                )
            resolved = await engine.platform.invoker.resolve(ref.name, ref.qualifier)
            durable = engine.is_durable(resolved)
            if durable and ref.qualifier is None:
                raise invalid_parameter(UNQUALIFIED)
            found[name] = Target(
                ref.name,
                resolved.executed_version,
                durable,
                resolved.row.config,
                qualifier=ref.qualifier,
            )
        except ApiError as exc:
            found[name] = Target(name, error={"ErrorType": exc.code, "ErrorMessage": exc.message})
    return found


async def run_plain(engine: DurableEngine, arn: str, op_id: str) -> None:
    """Run one plain (non-durable) chained invoke and report its outcome to the parent."""
    key = (arn, op_id)
    if key in engine.running_targets:
        return
    engine.running_targets.add(key)
    try:
        ex = await engine.get(arn)
        op = ex.ops.get(op_id) if ex is not None else None
        if ex is None or op is None or op.status is not OpStatus.STARTED or not op.invoke:
            return
        info = op.invoke
        status, result, error = OpStatus.SUCCEEDED, None, None
        try:
            resolved = await engine.platform.invoker.resolve(info["name"], info.get("qualifier"))
            reply = await engine.platform.invoker.invoke_sync(
                resolved, str(info.get("input") or "").encode()
            )
            text = reply.payload.decode(errors="replace")
            if reply.function_error:
                status = OpStatus.FAILED
                body = json.loads(text) if text.startswith("{") else {}
                error = {
                    "ErrorType": str(body.get("errorType") or reply.function_error),
                    "ErrorMessage": str(body.get("errorMessage") or text),
                }
            elif len(reply.payload) > INVOKE_PAYLOAD_LIMIT:
                status = OpStatus.FAILED
                error = {
                    "ErrorMessage": "CHAINED_INVOKE output payload size must be less than or "
                    f"equal to {INVOKE_PAYLOAD_LIMIT} bytes."
                }
            else:
                result = text
        except ApiError as exc:
            status, error = OpStatus.FAILED, {"ErrorType": exc.code, "ErrorMessage": exc.message}
        async with engine.lock(arn):
            ch = complete_chained(ex, op_id, status, engine.now(), result=result, error=error)
            if ch is not None:
                await engine.commit(ch)
    except Exception:
        log.exception("durable execution %s: chained invoke %s failed", arn, op_id)
    finally:
        engine.running_targets.discard(key)
