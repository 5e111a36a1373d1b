"""What Huawei documents about ModelArts, as pure functions and constants: no Airflow task objects, no I/O.

Endpoints per cloud and region, the AK/SK signer and IAM token auth, error bodies and which
failures a retry may fix, validators shared by every API, and one module (or package) per API
version: :mod:`.v1` (old-version training) and :mod:`.v2` (training since 2023).
"""
