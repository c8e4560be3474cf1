"""lambdahost's own routes under ``/_lambdahost``: code downloads, logs, environments, health.

Code downloads are authorised by the presigned URL from GetFunction; the other
routes need a SigV4 signature (the CLI signs them like any Lambda call).
"""

from __future__ import annotations

from lambdahost.api.http import Request, Response, json_response
from lambdahost.api.router import Router
from lambdahost.app.platform import Platform
from lambdahost.app.urls import verify_code_url
from lambdahost.core.arns import parse_function_name
from lambdahost.core.concurrency import FunctionCounters
from lambdahost.errors import ApiError, function_not_found
from lambdahost.store import Store


def build_router(platform: Platform) -> Router:
    router = Router()

    async def download_code(request: Request) -> Response:
        name = request.path_params["FunctionName"]
        sha = request.q("sha") or ""
        ok = verify_code_url(
            name,
            sha,
            request.q("expires") or "",
            request.q("signature") or "",
            platform.code_url_key,
            platform.clock.time(),
        )
        if not ok:
            raise ApiError("AccessDenied", "Request has expired or the signature is invalid", 403)
        data = await platform.store.call(lambda s: s.code.get(sha))
        if data is None:
            raise ApiError("NoSuchKey", "The specified key does not exist.", 404)
        return Response(200, data, [(b"content-type", b"application/zip")])

    async def read_logs(request: Request) -> Response:
        name = parse_function_name(request.path_params["FunctionName"]).name
        offset = int(request.q("offset") or "0")
        limit = min(int(request.q("limit") or str(1 << 20)), 8 << 20)
        if await platform.functions.version(name, "$LATEST") is None and offset == 0:
            data, _ = platform.logs.read(name, 0, 1)
            if not data:
                raise function_not_found(platform.arns.function(name))
        data, next_offset = platform.logs.read(name, offset, limit)
        return Response(
            200,
            data,
            [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"x-lambdahost-next-offset", str(next_offset).encode()),
            ],
        )

    async def environments(request: Request) -> Response:
        rows = []
        for info in platform.manager.snapshot():
            rows.append(
                {
                    "Key": info.key,
                    "Pid": info.pid,
                    "State": str(getattr(info.state, "name", info.state)),
                    "Invocations": info.invocations,
                }
            )
        return json_response({"Environments": rows})

    async def event_queue(request: Request) -> Response:
        def stats(store: Store) -> tuple[int, float | None, list[tuple[str, int]]]:
            rows = store.db.execute(
                "SELECT function_name, COUNT(*) FROM event_invocations GROUP BY function_name"
                " ORDER BY function_name"
            )
            per_function = [(str(r[0]), int(r[1])) for r in rows]
            return store.events.depth(), store.events.oldest_enqueued_at(), per_function

        depth, oldest, per_function = await platform.store.call(stats)
        now = platform.clock.time()
        return json_response(
            {
                "Depth": depth,
                "OldestAgeSeconds": round(now - oldest, 3) if oldest is not None else None,
                "Functions": [{"FunctionName": f, "Depth": n} for f, n in per_function],
            }
        )

    async def stats(request: Request) -> Response:
        ledger = platform.concurrency.ledger
        rows = []
        names = set(ledger.counters) | platform.provisioned.functions()
        for name in sorted(names):
            counters = ledger.counters.get(name) or FunctionCounters()
            rows.append(
                {
                    "FunctionName": name,
                    "ConcurrentExecutions": counters.in_flight,
                    "PeakConcurrentExecutions": counters.peak,
                    "Invocations": counters.invocations,
                    "Throttles": counters.throttles,
                    "ColdStarts": counters.cold_starts,
                    "Restores": counters.restores,
                    "Errors": counters.errors,
                    "ReservedConcurrentExecutions": ledger.reserved.get(name),
                    "ProvisionedConcurrency": platform.provisioned.utilization(name),
                }
            )
        return json_response({"Functions": rows})

    async def health(request: Request) -> Response:
        return json_response({"status": "ok"})

    router.add("GET", "/_lambdahost/code/{FunctionName}", download_code, "DownloadCode")
    router.add("GET", "/_lambdahost/v1/functions/{FunctionName}/logs", read_logs, "ReadLogs")
    router.add("GET", "/_lambdahost/v1/environments", environments, "ListEnvironments")
    router.add("GET", "/_lambdahost/v1/event-queue", event_queue, "EventQueueStats")
    router.add("GET", "/_lambdahost/v1/stats", stats, "FunctionStats")
    router.add("GET", "/_lambdahost/health", health, "Health")
    return router
