"""IAM ``POST /v3/auth/tokens`` with password authentication.

https://support.huaweicloud.com/intl/en-us/api-iam/iam_30_0001.html: a 201 with the token in the
``X-Subject-Token`` header, a project scope by id or by name (the region), 24-hour tokens.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from modelarts_emulator.config import EmulatorConfig
from modelarts_emulator.gateway import Gateway, IssuedToken
from modelarts_emulator.responses import Response, json_response

WRONG_CREDENTIALS_BODY = {
    "error": {"code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"}
}


class BadTokenRequest(ValueError):
    """The request body does not have the documented shape; the message names the parameter."""


def iam_timestamp(epoch_seconds: float) -> str:
    """IAM's timestamp format, e.g. ``2015-11-09T01:42:57.527363Z`` (UTC, microseconds)."""
    return datetime.fromtimestamp(epoch_seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stable_id(*parts: str) -> str:
    """A 32-hex id that is the same on every run for the same names (domain, user ids)."""
    return hashlib.md5("/".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()


def _field(container: Any, key: str, path: str) -> Any:
    if not isinstance(container, dict) or key not in container:
        raise BadTokenRequest(f"Request parameter {path} is invalid.")
    return container[key]


def _string(container: Any, key: str, path: str) -> str:
    value = _field(container, key, path)
    if not isinstance(value, str) or not value:
        raise BadTokenRequest(f"Request parameter {path} is invalid.")
    return value


def _parse(body: bytes) -> tuple[str, str, str, dict[str, Any]]:
    """``(user_name, password, domain_name, scope)`` from a password-auth request body."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadTokenRequest("The request body is not valid JSON.") from None
    auth = _field(payload, "auth", "auth")
    identity = _field(auth, "identity", "auth.identity")
    methods = _field(identity, "methods", "auth.identity.methods")
    if not isinstance(methods, list) or "password" not in methods:
        raise BadTokenRequest("Request parameter auth.identity.methods is invalid.")
    user = _field(_field(identity, "password", "auth.identity.password"), "user", "auth.identity.password.user")
    name = _string(user, "name", "auth.identity.password.user.name")
    password = _string(user, "password", "auth.identity.password.user.password")
    domain = _string(_field(user, "domain", "auth.identity.password.user.domain"), "name",
                     "auth.identity.password.user.domain.name")  # fmt: skip
    scope = auth.get("scope", {})
    if not isinstance(scope, dict):
        raise BadTokenRequest("Request parameter auth.scope is invalid.")
    return name, password, domain, scope


def _scoped_project(scope: dict[str, Any], config: EmulatorConfig) -> tuple[bool, str | None]:
    """``(valid, project_id)``: a project scope by id or by region name, or a domain scope."""
    project = scope.get("project")
    if project is None:
        return True, None  # unscoped or domain-scoped: issued, but useless for ModelArts
    if not isinstance(project, dict):
        return False, None
    if project.get("id") is not None:
        return project["id"] == config.project_id, config.project_id
    return project.get("name") == config.region, config.project_id


def handle_token_request(body: bytes, gateway: Gateway, config: EmulatorConfig) -> tuple[Response, bool]:
    """Answer a token request; the flag tells whether it was an authentication failure."""
    try:
        name, password, domain, scope = _parse(body)
    except BadTokenRequest as error:
        return json_response(400, {"error_msg": str(error), "error_code": "IAM.0011"}), False
    account_login = name == config.user_name and password == config.password
    iam_user_login = name == config.iam_user_name and password == config.iam_user_password
    if domain != config.domain_name or not (account_login or iam_user_login):
        return json_response(401, WRONG_CREDENTIALS_BODY), True
    valid, project_id = _scoped_project(scope, config)
    if not valid:
        return json_response(400, {"error_msg": "Request parameter auth.scope.project is invalid.",
                                   "error_code": "IAM.0011"}), False  # fmt: skip
    token = gateway.issue_token(project_id, name)
    return json_response(201, token_body(token, config), [("X-Subject-Token", token.value)]), False


def token_body(token: IssuedToken, config: EmulatorConfig) -> dict[str, Any]:
    domain = {"id": stable_id("domain", config.domain_name), "name": config.domain_name}
    body: dict[str, Any] = {
        "expires_at": iam_timestamp(token.expires_at),
        "issued_at": iam_timestamp(token.issued_at),
        "methods": ["password"],
        "user": {
            "id": stable_id("user", config.domain_name, token.user_name),
            "name": token.user_name,
            "domain": domain,
            "password_expires_at": "",
        },
        "roles": [
            {"id": stable_id("role", "te_admin"), "name": "te_admin"},
            {"id": stable_id("role", "modelarts_adm"), "name": "modelarts_adm"},
        ],
        "catalog": [],
    }
    if token.project_id is not None:
        body["project"] = {"id": token.project_id, "name": config.region, "domain": domain}
    else:
        body["domain"] = domain
    return {"token": body}
