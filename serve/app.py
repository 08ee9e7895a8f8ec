"""The LangGraph server's custom HTTP app (``langgraph.json``: ``"http": {"app": "./serve/app.py:app"}``).

Its routes sit next to the LangGraph API on the same server: webhooks (``/webhooks/<workflow>``) and,
when `taskwarden.serve.ui` is present, the browser UI (playground, review queue, dashboard). Its
lifespan starts the folder watchers configured by ``TASKWARDEN_WATCH_<WORKFLOW>``. Schedules are the
server's own cron API (docs/serving.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from taskwarden.serve.triggers import Triggers
from taskwarden.serve.watch import FolderWatcher, poll_interval, watched_folders
from taskwarden.serve.webhooks import router as webhooks_router


def ui_router():  # the browser UI is its own module; the app works without it
    try:
        from taskwarden.serve.ui import router
    except ModuleNotFoundError as exc:
        if exc.name != "taskwarden.serve.ui":
            raise
        return None
    return router


def create_app(triggers: Triggers | None = None) -> FastAPI:
    """The app; `triggers` defaults to one that starts runs through the server's own API."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        folders = watched_folders(app.state.triggers.names())
        watchers = [asyncio.create_task(FolderWatcher(folder, app.state.triggers, poll_interval()).run(),
                                        name=f"watch {folder.workflow}") for folder in folders]
        app.state.watched = folders
        try:
            yield
        finally:
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)

    # no docs routes of its own: the server's /docs and /openapi.json describe these routes with its API
    app = FastAPI(title="Taskwarden", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.triggers = triggers or Triggers()
    app.state.watched = []
    app.include_router(webhooks_router)
    ui = ui_router()
    if ui is not None:
        app.include_router(ui)
    return app


app = create_app()
