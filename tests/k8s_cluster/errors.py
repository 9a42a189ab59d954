"""`Status` failures, shaped and worded as the Kubernetes API server returns them."""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "success_status"]


class ApiError(Exception):
    """A request the API refuses; `status()` is the JSON body to send."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body

    @classmethod
    def not_found(cls, qualified: str, name: str) -> ApiError:
        group = qualified.partition(".")[2]
        return cls(
            404,
            "NotFound",
            f'{qualified} "{name}" not found',
            {"name": name, "group": group, "kind": qualified.partition(".")[0]}
            if group
            else {"name": name, "kind": qualified},
        )

    @classmethod
    def already_exists(cls, qualified: str, name: str) -> ApiError:
        return cls(
            409,
            "AlreadyExists",
            f'{qualified} "{name}" already exists',
            {"name": name, "kind": qualified.partition(".")[0]},
        )

    @classmethod
    def conflict(cls, qualified: str, name: str) -> ApiError:
        return cls(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {qualified} "{name}": the object has '
            "been modified; please apply your changes to the latest version and try "
            "again",
            {"name": name, "kind": qualified.partition(".")[0]},
        )

    @classmethod
    def invalid(cls, kind: str, name: str, field: str, problem: str) -> ApiError:
        return cls(
            422,
            "Invalid",
            f'{kind} "{name}" is invalid: {field}: {problem}',
            {
                "name": name,
                "kind": kind,
                "causes": [
                    {"reason": "FieldValueInvalid", "message": problem, "field": field}
                ],
            },
        )

    @classmethod
    def bad_request(cls, message: str) -> ApiError:
        return cls(400, "BadRequest", message)

    @classmethod
    def unauthorized(cls) -> ApiError:
        return cls(401, "Unauthorized", "Unauthorized")

    @classmethod
    def forbidden(
        cls, user: str, verb: str, resource: str, group: str, name: str, ns: str | None
    ) -> ApiError:
        subject = f'{resource} "{name}"' if name else resource
        scope = f' in the namespace "{ns}"' if ns else " at the cluster scope"
        return cls(
            403,
            "Forbidden",
            f'{subject} is forbidden: User "{user}" cannot {verb} resource '
            f'"{resource}" in API group "{group}"{scope}',
            {"name": name, "group": group, "kind": resource.partition("/")[0]},
        )

    @classmethod
    def method_not_allowed(cls) -> ApiError:
        return cls(405, "MethodNotAllowed", "the server does not allow this method")

    @classmethod
    def gone(cls, message: str) -> ApiError:
        return cls(410, "Expired", message)


def success_status(
    code: int, name: str, group: str, kind: str, uid: str | None = None
) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "group": group, "kind": kind}
    if uid:
        details["uid"] = uid
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
        "code": code,
    }
