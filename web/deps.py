"""Dependencies of the routes: settings and the state loaded once per process at startup."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from qa.retriever import Retriever
from qa.settings import Settings, get_settings


@dataclass(slots=True)
class AppState:
    settings: Settings
    retriever: Retriever


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.qa
    return state


__all__ = ["AppState", "app_state", "get_settings"]
