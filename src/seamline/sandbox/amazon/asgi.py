"""The Amazon sandbox as an ASGI app (FastAPI), for the demo and loopback tests: every path goes to the one
core, which answers 404 the way SP-API does for anything it does not serve."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

from seamline.sandbox.amazon.sandbox import AmazonSandbox


def create_app(sandbox: AmazonSandbox) -> FastAPI:
    app = FastAPI(title="Amazon SP-API sandbox", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.sandbox = sandbox

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def sp_api(request: Request) -> Response:
        body = await request.body()
        answer = sandbox.handle(request.method, request.url.path, request.url.query, dict(request.headers), body)
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    return app
