"""SDK-HMAC-SHA256 signing: the known-answer vectors of the SDK-HMAC-SHA256 algorithm, and the
canonicalisation edge cases the gateway is strict about."""

from __future__ import annotations

import pendulum
import pytest
import requests

from airflow_provider_modelarts.cloud import auth

AK = "HPUAEXAMPLEAK0000001"
SK = "exampleSecretKey0123456789abcdefghijklmnop"
PROJECT = "0123456789abcdef0123456789abcdef"
HOST = "modelarts.cn-north-4.myhuaweicloud.com"
DATE = "20240102T030405Z"
BASE_HEADERS = {"Content-Type": "application/json", "X-Sdk-Date": DATE, "X-Project-Id": PROJECT, "Host": HOST}
JOBS_PATH = f"/v1/{PROJECT}/training-jobs"
V1_QUERY = [
    ("per_page", "10"),
    ("page", "1"),
    ("search_content", "my job \u00fc~*"),
    ("sortBy", "create_time"),
    ("order", "desc"),
    ("status", "8"),
]


def _sign(method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes | None):
    canonical = auth.canonical_request(method, path, query, headers, body)
    digest_line = auth.string_to_sign(DATE, canonical).splitlines()[-1]
    return canonical, digest_line, auth.compute_signature(SK, auth.string_to_sign(DATE, canonical))


def test_vector_v1_get_with_encoded_query() -> None:
    canonical, digest, signature = _sign("GET", JOBS_PATH, V1_QUERY, BASE_HEADERS, None)
    assert canonical.splitlines()[1] == JOBS_PATH + "/"
    assert canonical.splitlines()[2] == (
        "order=desc&page=1&per_page=10&search_content=my%20job%20%C3%BC~%2A&sortBy=create_time&status=8"
    )
    assert digest == "99cb10d69fd193ceae1f4815c4ab295d3e107a021ef93316bb63000201c33afc"
    assert signature == "a287e43554bbcb75a5b0c47139d5e3be39a97d941e8961cac69c8c94650a9cc9"


def test_vector_v2_get_without_query() -> None:
    canonical, digest, signature = _sign("GET", f"{JOBS_PATH}/10/versions/20", [], BASE_HEADERS, None)
    assert canonical.splitlines()[2] == ""
    assert digest == "e16ad657388a4470b65336d510526e512eb73c54bbf098b03c8f4beb3ef60724"
    assert signature == "da550b821a86c1c3ea655b158d25db95c73f49f2b8ff7f41fc31d2d3eed26c6f"


def test_vector_v3_post_with_json_body() -> None:
    body = b'{"job_name":"demo","job_desc":"x"}'
    canonical, digest, signature = _sign("POST", JOBS_PATH, [], BASE_HEADERS, body)
    assert canonical.splitlines()[-1] == "75714a5569202e1748334a20fc804e688133b76a3c8a54fd2f5cbb613a3d6e50"
    assert digest == "671e373aa9683f34ac1febc3409cc5cc114988cfd9e5ea743e91ed143ac03de7"
    assert signature == "573623792257741ba7469fc3f5cf0273a31c87d2a221f8bb9bacb83e0084f5c7"


def test_vector_v4_security_token_is_signed() -> None:
    headers = {**BASE_HEADERS, "X-Security-Token": "EXAMPLE-SECURITY-TOKEN"}
    canonical, digest, signature = _sign("GET", f"{JOBS_PATH}/10/versions/20", [], headers, None)
    assert canonical.splitlines()[-2] == "content-type;host;x-project-id;x-sdk-date;x-security-token"
    assert digest == "d636fea264732a14711c5aa135324b1a7d7e8744ac8d59df86d9cc2964b61475"
    assert signature == "f2e17ab4f3d68db09b9d6ad29a7b63aa8a89ef3ab72f46d5962b1a4eaca45196"


def test_auth_object_reproduces_vector_v1_on_a_prepared_request() -> None:
    """The AuthBase path (what the hook uses) signs the same as the primitives, and the wire
    query is exactly the canonical one."""
    clock = lambda: pendulum.datetime(2024, 1, 2, 3, 4, 5, tz="UTC")  # noqa: E731
    signer = auth.AkSkAuth(AK, SK, PROJECT, clock=clock)
    query = "&".join(f"{k}={requests.utils.quote(v)}" for k, v in V1_QUERY)
    prepared = requests.Request(
        "GET", f"https://{HOST}{JOBS_PATH}?{query}", headers={"Content-Type": "application/json"}
    ).prepare()
    signer(prepared)
    assert prepared.url == (
        f"https://{HOST}{JOBS_PATH}?order=desc&page=1&per_page=10"
        "&search_content=my%20job%20%C3%BC~%2A&sortBy=create_time&status=8"
    )
    assert prepared.headers["Authorization"] == (
        f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=content-type;host;x-project-id;x-sdk-date, "
        "Signature=a287e43554bbcb75a5b0c47139d5e3be39a97d941e8961cac69c8c94650a9cc9"
    )


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("a b", "a%20b"),
        ("a+b", "a%2Bb"),
        ("x~y", "x~y"),
        ("*", "%2A"),
        ("a&b=c", "a%26b%3Dc"),
        ("ü", "%C3%BC"),
        ("训练", "%E8%AE%AD%E7%BB%83"),
        ("a/b", "a%2Fb"),
        ("", ""),
    ],
)
def test_query_values_are_encoded_like_the_sdk(value: str, encoded: str) -> None:
    assert auth.canonical_query([("search_content", value)]) == f"search_content={encoded}"


def test_query_is_sorted_by_raw_key_then_value_uppercase_first() -> None:
    pairs = [("b", "2"), ("a", "z"), ("a", "b"), ("B", "1")]
    assert auth.canonical_query(pairs) == "B=1&a=b&a=z&b=2"


def test_plus_on_the_wire_is_a_literal_plus_not_a_space() -> None:
    # Why '+' for a space is rejected: the gateway decodes it as '+', so the signed %20 differs.
    assert auth.parse_query("q=a+b&r=a%20b") == [("q", "a+b"), ("r", "a b")]
    assert auth.canonical_query(auth.parse_query("q=a+b")) == "q=a%2Bb"


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/v1/p/training-jobs", "/v1/p/training-jobs/"),
        ("/v1/p/training-jobs/", "/v1/p/training-jobs/"),
        ("/", "/"),
        ("/a%20b/c", "/a%20b/c/"),
        ("/a%2Fb", "/a/b/"),
    ],
)
def test_canonical_uri_appends_slash_and_reencodes(path: str, canonical: str) -> None:
    assert auth.canonical_uri(path) == canonical


def test_headers_with_underscore_are_not_signed() -> None:
    assert auth.signed_header_names({"X_Custom": "1", "Host": "h", "X-Sdk-Date": DATE}) == ["host", "x-sdk-date"]


def test_header_values_are_trimmed_but_inner_spaces_kept() -> None:
    canonical = auth.canonical_request("GET", "/", [], {"Host": "h", "X-Note": "  a  b  "}, None)
    assert "x-note:a  b\n" in canonical


def test_parse_authorization_round_trip() -> None:
    header = auth.authorization_header(AK, ["host", "x-sdk-date"], "abc")
    parsed = auth.parse_authorization(header)
    assert parsed == auth.ParsedAuthorization(AK, ["host", "x-sdk-date"], "abc")
    assert auth.parse_authorization("Bearer x") is None


def test_secrets_are_not_in_repr() -> None:
    signer = auth.AkSkAuth(AK, SK, PROJECT, security_token="SECRET-TOKEN-VALUE")
    assert SK not in repr(signer) and "SECRET-TOKEN-VALUE" not in repr(signer)
    token = auth.IamToken("IAM-TOKEN-VALUE", pendulum.now("UTC"), pendulum.now("UTC").add(hours=24))
    assert "IAM-TOKEN-VALUE" not in repr(token)


def test_token_cache_fetches_once_and_refreshes_before_expiry() -> None:
    now = pendulum.datetime(2026, 1, 1, tz="UTC")
    clock_value = [now]
    fetched: list[str] = []

    def fetch() -> auth.IamToken:
        fetched.append(f"token-{len(fetched)}")
        return auth.IamToken(fetched[-1], clock_value[0], clock_value[0].add(hours=24))

    cache = auth.IamTokenCache(fetch, clock=lambda: clock_value[0])
    assert cache.get() == cache.get() == "token-0"
    clock_value[0] = now.add(hours=22, minutes=59)
    assert cache.get() == "token-0"
    clock_value[0] = now.add(hours=23, minutes=1)  # under an hour left: refresh early
    assert cache.get() == "token-1"
    cache.invalidate("some-other-token")
    assert cache.get() == "token-1"
    cache.invalidate("token-1")
    assert cache.get() == "token-2"
    assert len(fetched) == 3


def test_a_query_built_by_requests_params_is_signed_as_meant() -> None:
    """requests writes a space as '+' and a plus as %2B; the signer sends both canonically."""
    signer = auth.AkSkAuth(AK, SK, PROJECT)
    prepared = requests.Request("GET", f"https://{HOST}{JOBS_PATH}", params={"search_content": "a b+c"}).prepare()
    assert prepared.url is not None and "search_content=a+b%2Bc" in prepared.url
    signer(prepared)
    assert prepared.url.endswith("?search_content=a%20b%2Bc")


def test_signatures_equal_the_official_sdk_signer_on_generated_requests() -> None:
    """Same inputs, same signature as huaweicloudsdkcore's Signer, over many generated requests."""
    import random
    from urllib.parse import urlsplit

    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.sdk_request import SdkRequest

    rng = random.Random(7)
    alphabet = "abcXYZ019 ~*+&=/%?ü中-_.!'()"
    for index in range(300):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        query = [("search_content", value), ("per_page", str(rng.randint(1, 1000)))][: index % 3]
        path = rng.choice([JOBS_PATH, f"{JOBS_PATH}/{index}/versions", f"{JOBS_PATH}/{index}/versions/{index + 1}"])
        credentials = BasicCredentials(AK, SK, PROJECT)
        if index % 4 == 0:
            credentials = credentials.with_security_token(f"token-{index}")
        signed = credentials.sign_request(
            SdkRequest(
                method="GET",
                schema="https",
                host=HOST,
                resource_path=path,
                query_params=list(query),
                header_params={"Content-Type": "application/json", "X-Sdk-Date": DATE},
            )
        )
        headers = {k: v for k, v in signed.header_params.items() if k != "Authorization"}
        canonical = auth.canonical_request("GET", path, query, headers, None)
        ours = auth.compute_signature(SK, auth.string_to_sign(DATE, canonical))
        theirs = signed.header_params["Authorization"].rsplit("Signature=", 1)[1]
        assert ours == theirs, (path, query)
        # And the SDK sends exactly the canonical query we send.
        assert urlsplit(signed.uri).query == auth.canonical_query(query)
