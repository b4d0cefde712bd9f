"""What routes depend on: the service's state, its store, its loaded config, the API key.

The service loads the config once (at :func:`service.create_app`) and opens its store once
(lazily: engines connect on first use, and a database that is down at start may come back).
Routes receive both through FastAPI's dependency injection, never from globals.
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass, field
from typing import Annotated

from apscheduler.schedulers.background import BackgroundScheduler
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from data.store import Store, open_store
from jobs.config import RiskcastConfig
from riskcast.config import Settings

bearer = HTTPBearer(auto_error=False, description="API key from RISKCAST_API_KEYS")
CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass
class ServiceState:
    """Everything one app instance holds (``app.state.riskcast``).

    Attributes:
        settings: deployment settings (database URL, home, API keys).
        config: the domain config, loaded and validated once at start.
        scheduler: the running scheduler, when this process runs one.
        scheduler_error: why the scheduler did not start, shown by ``/health``.
        job_threads: runs started through the API (joined at shutdown).
    """

    settings: Settings
    config: RiskcastConfig
    scheduler: BackgroundScheduler | None = None
    scheduler_error: str | None = None
    job_threads: list[threading.Thread] = field(default_factory=list)
    _store: Store | None = None
    _store_lock: threading.Lock = field(default_factory=threading.Lock)

    def store(self) -> Store:
        """The service store, opened once (the API's own, shorter, lock and connect waits)."""
        with self._store_lock:
            if self._store is None:
                service = self.config.service
                self._store = open_store(
                    self.settings.resolved_database_url(),
                    config=self.config.data,
                    busy_timeout_s=service.db_busy_timeout_seconds,
                    connect_timeout_s=service.db_connect_timeout_seconds,
                )
            return self._store


def service_state(request: Request) -> ServiceState:
    """The state of the app serving ``request``."""
    return request.app.state.riskcast


def service_store(state: Annotated[ServiceState, Depends(service_state)]) -> Store:
    """The service store."""
    return state.store()


def service_config(state: Annotated[ServiceState, Depends(service_state)]) -> RiskcastConfig:
    """The config the service loaded at start."""
    return state.config


StateDep = Annotated[ServiceState, Depends(service_state)]
StoreDep = Annotated[Store, Depends(service_store)]
ConfigDep = Annotated[RiskcastConfig, Depends(service_config)]


def require_api_key(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Writes need ``Authorization: Bearer <key>``; keys compared in constant time."""
    keys = state.settings.api_key_list()
    if not keys:
        raise HTTPException(
            401, "writes are disabled: no API keys configured (RISKCAST_API_KEYS)", CHALLENGE
        )
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "missing API key: send 'Authorization: Bearer <key>'", CHALLENGE)
    offered = credentials.credentials.encode()
    matched = False
    for key in keys:  # every key is compared, so timing does not reveal which one matched
        matched |= hmac.compare_digest(offered, key.encode())
    if not matched:
        raise HTTPException(401, "invalid API key", CHALLENGE)
