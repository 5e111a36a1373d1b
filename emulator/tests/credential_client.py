"""Clients of the emulator's temporary-credential endpoints, for the metadata and federation tests,
written from the SDK's behaviour (``huaweicloudsdkcore.auth.internal``) and the IAM docs.

:class:`ShiftedClock` moves the gateway's clock (``Gateway.clock``) a few seconds or minutes ahead,
so a test sees a credential expire without sleeping. It stays within the gateway's 15-minute
``X-Sdk-Date`` window, so signatures made with the real clock still pass the date check.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from emulator_client import PROJECT, SdkAkSkAuth, get, jobs_path
from modelarts_emulator import ModelArtsEmulator

TOKEN_PATH = "/meta-data/latest/api/token"
SECURITYKEY_PATH = "/openstack/latest/securitykey"
ID_TOKEN_PATH = "/v3.0/OS-AUTH/id-token/tokens"
SECURITYTOKENS_PATH = "/v3.0/OS-CREDENTIAL/securitytokens"
PROJECTS_PATH = "/v3/projects"
CONFIG_AGENCY_ERROR = "Please configure Cloud Service Agency first"
# StsAccessor._process_credential reads expires_at with "%Y-%m-%dT%H:%M:%S.%fZ".
EXPIRES_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
SDK_TTL = "21600"


class ShiftedClock:
    """``time.time()`` plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@contextmanager
def shifted_clock(emu: ModelArtsEmulator) -> Iterator[ShiftedClock]:
    gateway = emu.app.gateway
    original = gateway.clock
    clock = ShiftedClock()
    gateway.clock = clock
    try:
        yield clock
    finally:
        gateway.clock = original


def session_token(emu: ModelArtsEmulator, ttl: str = SDK_TTL) -> str:
    response = requests.put(f"{emu.url}{TOKEN_PATH}", headers={"X-Metadata-Token-Ttl-Seconds": ttl}, timeout=3)
    assert response.status_code == 200, response.text
    return response.text


def securitykey(emu: ModelArtsEmulator, token: str | None) -> requests.Response:
    headers = {"X-Metadata-Token": token} if token is not None else {}
    return requests.get(f"{emu.url}{SECURITYKEY_PATH}", headers=headers, timeout=3)


def metadata_credential(emu: ModelArtsEmulator) -> dict[str, Any]:
    """The SDK's flow: a session token, then the securitykey with it."""
    response = securitykey(emu, session_token(emu))
    assert response.status_code == 200, response.text
    credential: dict[str, Any] = response.json()["credential"]
    return credential


def signer(credential: dict[str, Any], security_token: str | None = "same") -> SdkAkSkAuth:
    """An SDK signer for a credential map; ``security_token`` overrides (``None``: none sent)."""
    token = credential["securitytoken"] if security_token == "same" else security_token
    return SdkAkSkAuth(credential["access"], credential["secret"], PROJECT, security_token=token)


def list_jobs_with(emu: ModelArtsEmulator, auth: Any) -> requests.Response:
    return get(emu, jobs_path(PROJECT), [("per_page", "1")], auth)
