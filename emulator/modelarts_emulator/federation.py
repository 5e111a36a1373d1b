"""IAM identity-provider federation (Kubernetes workloads) and the temporary credentials it leads to.

* ``POST /v3.0/OS-AUTH/id-token/tokens`` ("Obtaining a Token with an OpenID Connect ID Token",
  https://support.huaweicloud.com/intl/en-us/api-iam/iam_13_0605.html): header ``X-Idp-Id``, body
  ``{"auth": {"id_token": {"id": JWT}, "scope": {"project"|"domain": {"id"|"name"}}}}`` (scope
  optional: without it the token is unscoped). 201, the token in ``X-Subject-Token`` and a token
  body whose ``methods`` is ``["mapped"]`` ("For federated users, the default value of this
  parameter is mapped", same page). An unknown IdP answers 404 ``IAM.0004`` "Could not find
  %(target)s: %(target_id)s." **[UNCERTAIN]**: that is IAM's generic not-found error; no page read
  gives this API's error for a bad ``X-Idp-Id``. A missing ``X-Idp-Id`` or a bad body answers 400
  ``IAM.0011``; an ID token that is not a JWT whose payload has ``sub`` and a numeric ``exp``, or
  whose ``exp`` has passed, answers 401 in Keystone's shape (as a wrong password does, :mod:`.iam`).

  **The emulator does not verify the JWT's signature**: it has no identity provider keys. Nor does
  it check the issuer (``iss``), the audience or the IdP's mapping rules.
* ``POST /v3.0/OS-CREDENTIAL/securitytokens`` ("Obtaining Temporary Access Keys and Security Tokens
  of an IAM User", https://support.huaweicloud.com/intl/en-us/api-iam/iam_04_0002.html): body
  ``{"auth": {"identity": {"methods": ["token"], "token": {"id", "duration_seconds"}}}}``; the token
  may come in ``X-Auth-Token`` instead, which takes precedence ("X-Auth-Token takes priority over
  the ID in the token object", OTC's page of the same API). It must be an IAM token this emulator
  issued (password or ID token) and unexpired, else 401. ``duration_seconds`` 900..86400, default
  900. 201 ``{"credential": {"access", "secret", "securitytoken", "expires_at"}}``. (The newer
  Huawei page also accepts an AK/SK ``Authorization``; the emulator does not.)
* ``GET /v3/projects?name={region}`` (Keystone "Querying Project Information Based on the
  Specified Criteria", https://support.huaweicloud.com/intl/en-us/api-iam/iam_06_0001.html),
  authenticated like any API call: ``{"projects": [...], "links": {...}}``; a region the emulator
  does not serve gives ``{"projects": []}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

from modelarts_emulator.config import EmulatorConfig
from modelarts_emulator.credentials import (
    SECURITYTOKEN_DEFAULT_SECONDS,
    SECURITYTOKEN_MAX_SECONDS,
    SECURITYTOKEN_MIN_SECONDS,
    CredentialSettings,
    credential_body,
)
from modelarts_emulator.gateway import Gateway, IssuedToken, TemporaryCredential
from modelarts_emulator.iam import iam_timestamp, stable_id
from modelarts_emulator.responses import Response, json_response

DEFAULT_SUBJECT = "system:serviceaccount:airflow:worker"
DEFAULT_ISSUER = "https://emulator.invalid/oidc"
HEADER_IDP_ID = "X-Idp-Id"
INVALID_ID_TOKEN_BODY = {
    "error": {"code": 401, "message": "The ID token is invalid or has expired.", "title": "Unauthorized"}
}
UNAUTHENTICATED_BODY = {
    "error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}
}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_id_token(
    subject: str = DEFAULT_SUBJECT,
    expires_in: float = 3600.0,
    issuer: str = DEFAULT_ISSUER,
    **claims: Any,
) -> str:
    """An OpenID Connect ID token (a JWT) for tests and demos, e.g. what a CCE projected service
    account token file holds: header ``{"alg": "RS256", "kid": "emulator"}``, payload ``{"iss",
    "sub", "aud", "iat", "exp"}`` (plus ``claims``) and a dummy signature segment. The emulator does
    not verify signatures; a negative ``expires_in`` makes an already expired token."""
    now = int(time.time())
    header = {"alg": "RS256", "kid": "emulator", "typ": "JWT"}
    payload = {"iss": issuer, "sub": subject, "aud": "huaweicloud", "iat": now, "exp": now + int(expires_in), **claims}
    segments = [json.dumps(part, separators=(",", ":")).encode("utf-8") for part in (header, payload)]
    return ".".join([*(_b64url(segment) for segment in segments), _b64url(b"emulator-unsigned-signature")])


def parse_id_token(token: str) -> dict[str, Any] | None:
    """The payload of a well-formed JWT with ``sub`` and a numeric ``exp``, else ``None``."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or not all(parts):
        return None
    decoded = []
    for part in parts[:2]:
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
            decoded.append(json.loads(raw.decode("utf-8")))
        except (binascii.Error, ValueError):
            return None
    header, payload = decoded
    if not isinstance(header, dict) or not isinstance(payload, dict):
        return None
    subject, expiry = payload.get("sub"), payload.get("exp")
    if not isinstance(subject, str) or not subject:
        return None
    if isinstance(expiry, bool) or not isinstance(expiry, (int, float)):
        return None
    return payload


def _bad_request(message: str) -> Response:
    return json_response(400, {"error_msg": message, "error_code": "IAM.0011"})


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def presented_id_token(body: bytes) -> str | None:
    """The ID token a request body carries (for the leak scan), if it has one."""
    payload = _json_object(body)
    auth = payload.get("auth") if payload else None
    id_token = auth.get("id_token") if isinstance(auth, dict) else None
    value = id_token.get("id") if isinstance(id_token, dict) else None
    return value if isinstance(value, str) and value else None


def _scope(auth: dict[str, Any], config: EmulatorConfig) -> tuple[str, str | None] | Response:
    """``("project"|"domain"|"unscoped", project_id)`` of the requested scope, or a 400."""
    scope = auth.get("scope")
    if scope is None:
        return "unscoped", None
    domain_id = stable_id("domain", config.domain_name)
    if isinstance(scope, dict) and isinstance(scope.get("project"), dict):
        project = scope["project"]
        if project.get("id") == config.project_id or (
            project.get("id") is None and project.get("name") == config.region
        ):
            return "project", config.project_id
        return _bad_request("Request parameter auth.scope.project is invalid.")
    if isinstance(scope, dict) and isinstance(scope.get("domain"), dict):
        domain = scope["domain"]
        if domain.get("id") == domain_id or (domain.get("id") is None and domain.get("name") == config.domain_name):
            return "domain", None
        return _bad_request("Request parameter auth.scope.domain is invalid.")
    return _bad_request("Request parameter auth.scope is invalid.")


def id_token_tokens(
    idp_id: str | None, body: bytes, gateway: Gateway, config: EmulatorConfig
) -> tuple[Response, IssuedToken | None]:
    """Answer ``POST /v3.0/OS-AUTH/id-token/tokens``; returns the token issued, if any."""
    if not idp_id:
        return _bad_request("Request parameter X-Idp-Id is invalid."), None
    payload = _json_object(body)
    auth = payload.get("auth") if payload else None
    id_token = auth.get("id_token") if isinstance(auth, dict) else None
    value = id_token.get("id") if isinstance(id_token, dict) else None
    if not isinstance(auth, dict) or not isinstance(value, str) or not value:
        return _bad_request("Request parameter auth.id_token.id is invalid."), None
    if idp_id != config.idp_id:
        error = {"error_msg": f"Could not find identity provider: {idp_id}.", "error_code": "IAM.0004"}
        return json_response(404, error), None
    scope = _scope(auth, config)
    if isinstance(scope, Response):
        return scope, None
    claims = parse_id_token(value)
    if claims is None or float(claims["exp"]) <= gateway.clock():
        return json_response(401, INVALID_ID_TOKEN_BODY), None
    kind, project_id = scope
    token = gateway.issue_token(project_id, str(claims["sub"]))
    return json_response(201, _token_body(token, kind, idp_id, config), [("X-Subject-Token", token.value)]), token


def _token_body(token: IssuedToken, kind: str, idp_id: str, config: EmulatorConfig) -> dict[str, Any]:
    domain = {"id": stable_id("domain", config.domain_name), "name": config.domain_name}
    body: dict[str, Any] = {
        "expires_at": iam_timestamp(token.expires_at),
        "issued_at": iam_timestamp(token.issued_at),
        "methods": ["mapped"],
        "user": {
            "id": stable_id("federated-user", idp_id, token.user_name),
            "name": token.user_name,
            "domain": domain,
            "OS-FEDERATION": {
                "identity_provider": {"id": idp_id},
                "protocol": {"id": "oidc"},
                "groups": [],
            },
        },
        "roles": [{"id": stable_id("role", "modelarts_adm"), "name": "modelarts_adm"}],
        "catalog": [],
    }
    if kind == "project":
        body["project"] = {"id": token.project_id, "name": config.region, "domain": domain}
    elif kind == "domain":
        body["domain"] = domain
    return {"token": body}


def securitytokens(
    header_token: str | None, body: bytes, gateway: Gateway, settings: CredentialSettings
) -> tuple[Response, TemporaryCredential | None, bool]:
    """Answer ``POST /v3.0/OS-CREDENTIAL/securitytokens``: ``(response, credential issued,
    refused because the token had expired)``."""
    payload = _json_object(body)
    auth = payload.get("auth") if payload else None
    identity = auth.get("identity") if isinstance(auth, dict) else None
    if not isinstance(identity, dict):
        return _bad_request("Request parameter auth.identity is invalid."), None, False
    methods = identity.get("methods")
    if not isinstance(methods, list) or methods != ["token"]:
        return _bad_request("Request parameter auth.identity.methods is invalid."), None, False
    token_part = identity.get("token", {})
    if not isinstance(token_part, dict):
        return _bad_request("Request parameter auth.identity.token is invalid."), None, False
    duration = token_part.get("duration_seconds", SECURITYTOKEN_DEFAULT_SECONDS)
    if (
        isinstance(duration, bool)
        or not isinstance(duration, int)
        or not SECURITYTOKEN_MIN_SECONDS <= duration <= SECURITYTOKEN_MAX_SECONDS
    ):
        message = "Request parameter auth.identity.token.duration_seconds is invalid."
        return _bad_request(message), None, False
    value = header_token or token_part.get("id")
    token = gateway.find_token(value) if isinstance(value, str) and value else None
    if token is None:
        return json_response(401, UNAUTHENTICATED_BODY), None, False
    if token.expires_at <= gateway.clock():
        return json_response(401, UNAUTHENTICATED_BODY), None, True
    credential = gateway.issue_temporary_credential(settings.lifetime(float(duration)), "securitytokens")
    return json_response(201, credential_body(credential)), credential, False


def projects(pairs: list[tuple[str, str]], raw_query: str, base_url: str, config: EmulatorConfig) -> Response:
    """``GET /v3/projects[?name=...]``: the emulated project when the name (if given) matches."""
    names = [value for key, value in pairs if key == "name"]
    domain_id = stable_id("domain", config.domain_name)
    project = {
        "id": config.project_id,
        "name": config.region,
        "domain_id": domain_id,
        "parent_id": domain_id,
        "description": "",
        "enabled": True,
        "is_domain": False,
        "links": {"self": f"{base_url}/v3/projects/{config.project_id}"},
    }
    listed = [project] if all(name == config.region for name in names) else []
    links = {"self": f"{base_url}/v3/projects" + (f"?{raw_query}" if raw_query else ""), "previous": None, "next": None}
    return json_response(200, {"projects": listed, "links": links})
