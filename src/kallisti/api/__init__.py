"""The REST API: FastAPI routers, request/response models, auth, error handlers."""

from kallisti.api.app import API_PREFIX, create_app
from kallisti.api.deps import ServiceState

__all__ = ["API_PREFIX", "ServiceState", "create_app"]
