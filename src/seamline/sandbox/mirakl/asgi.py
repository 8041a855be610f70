"""The Mirakl sandbox as an ASGI app (FastAPI), for the demo and loopback tests."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

from seamline.sandbox.mirakl.sandbox import MiraklSandbox


def create_app(sandbox: MiraklSandbox) -> FastAPI:
    app = FastAPI(title="Mirakl Seller API sandbox", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.sandbox = sandbox

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
    async def seller_api(request: Request) -> Response:
        body = await request.body()
        answer = sandbox.handle(request.method, request.url.path, request.url.query, dict(request.headers), body)
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    return app
