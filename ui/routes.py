"""Health checks outside Gradio's login, for containers and load balancers.

- `/healthz` (liveness): 200 while the app answers, whatever the model does; a restart would not fix a missing
  token, so a failed model must not get the container restarted.
- `/readyz` (readiness): 200 once a model is ready and videos can be saved; 503 while the model downloads or loads,
  after it failed, or while the output folder cannot be written. A load balancer sends users only to ready ones.

With logins on, they show the states only: no paths, no error text (which may be another user's).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from svd.serve.pool import EnginePool

from .status import output_problem


def health_routes(pool: EnginePool, output_dir: Path, details: bool) -> list[Route]:
    """`details`: whether the answers may carry messages (only when there are no logins)."""

    def report() -> dict:
        status = pool.status
        problem = output_problem(output_dir)
        body: dict = {
            "ok": True,
            "ready": status.state == "ready" and problem is None,
            "model": status.state,
            "output": "ok" if problem is None else "failed",
            "gpus": pool.size,
            "busy": pool.busy,
        }
        if details:
            body["message"] = status.message
            if problem is not None:
                body["output_message"] = str(problem)
        return body

    async def health(request: Request) -> JSONResponse:
        return JSONResponse(report())

    async def ready(request: Request) -> JSONResponse:
        body = report()
        return JSONResponse(body, status_code=200 if body["ready"] else 503)

    return [Route("/healthz", health), Route("/readyz", ready)]
