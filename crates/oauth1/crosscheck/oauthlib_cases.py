"""Generate randomized OAuth 1.0a requests signed by oauthlib (an independent implementation).

Usage: python oauthlib_cases.py SEED COUNT OUT.json [RSA_KEY.pem]

With an RSA key (PKCS#8 PEM; oauthlib needs `cryptography` and `pyjwt`), a
share of the cases are RSA-SHA1 and RSA-SHA256, signed with that key.

Each case records the inputs, oauthlib's signature base string, its signature and its
Authorization header. The Rust side (examples/oauthlib_crosscheck.rs) re-signs every case
and verifies oauthlib's header with its own verifier.

Cases stay inside what oauthlib accepts: no body on GET/HEAD, no parameters on
Content-Type, no application parameters named oauth_* (oauthlib unescapes those a
second time, which RFC 5849 does not do; our crate follows the RFC).
"""
import json
import random
import sys
from urllib.parse import quote, quote_plus

from oauthlib.common import Request
from oauthlib.oauth1 import SIGNATURE_TYPE_BODY, SIGNATURE_TYPE_QUERY, Client
from oauthlib.oauth1.rfc5849 import signature, utils
from urllib.parse import urlparse

FORM = "application/x-www-form-urlencoded"
ALPHABET = (
    "abcXYZ019"          # unreserved letters and digits
    "-._~"               # unreserved marks
    " +*%&=/?#!$'(),;:@[]"  # reserved and special
    "é日ñ\u00a0😀"        # non-ASCII, including a 4-byte character
)


def text(rng, max_len=8, allow_empty=True):
    n = rng.randint(0 if allow_empty else 1, max_len)
    return "".join(rng.choice(ALPHABET) for _ in range(n))


def encode_value(rng, value):
    # Mix the ways real clients encode: %20 or + for spaces, raw * and ~.
    style = rng.randrange(3)
    if style == 0:
        return quote(value, safe="")
    if style == 1:
        return quote_plus(value, safe="")
    return quote(value, safe="*~")


def pairs(rng):
    keys = ["a", "b", "B", "q", "tag", "x y", "é", "k+", "k*", "k~", "k%"]
    out = []
    for _ in range(rng.randint(0, 5)):
        key = rng.choice(keys) if rng.random() < 0.7 else text(rng, 5, allow_empty=False)
        if key.startswith("oauth_"):
            continue
        value = "" if rng.random() < 0.15 else text(rng)
        encoded = encode_value(rng, key) + ("=" + encode_value(rng, value) if value or rng.random() < 0.5 else "")
        out.append(encoded)
        if rng.random() < 0.2:  # repeated key
            out.append(encode_value(rng, key) + "=" + encode_value(rng, text(rng)))
    return "&".join(out)


def url(rng):
    scheme = rng.choice(["http", "https", "HTTP", "Https"])
    host = rng.choice(["api.example.com", "API.Example.COM", "localhost", "127.0.0.1", "Photos.example.net"])
    default = 80 if scheme.lower() == "http" else 443
    port = rng.choice(["", "", f":{default}", ":8080", f":{rng.randint(1, 65535)}"])
    segments = [quote(text(rng, 6), safe="") for _ in range(rng.randint(0, 3))]
    path = "/" + "/".join(segments) if segments or rng.random() < 0.7 else ""
    query = pairs(rng)
    return f"{scheme}://{host}{port}{path}" + (f"?{query}" if query else "")


RSA_KEY = None


def case(rng, index):
    method = rng.choice(["GET", "get", "POST", "Post", "PUT", "PATCH", "DELETE", "HEAD"])
    body = None
    if method.upper() not in ("GET", "HEAD") and rng.random() < 0.7:
        body = pairs(rng)
        if not body:
            body = None
    methods = ["HMAC-SHA1", "HMAC-SHA256", "PLAINTEXT"]
    if RSA_KEY is not None:
        methods += ["RSA-SHA1", "RSA-SHA256"]
    sig_method = rng.choice(methods)
    consumer_key = text(rng, 10, allow_empty=False)
    consumer_secret = text(rng, 12)
    token = text(rng, 10, allow_empty=False) if rng.random() < 0.7 else None
    token_secret = text(rng, 12) if token else None
    callback = rng.choice([None, None, "oob", "http://printer.example.com/ready?x=1&y=a b"])
    verifier = text(rng, 8, allow_empty=False) if rng.random() < 0.2 else None
    realm = rng.choice([None, None, "Photos", "http://sp.example.com/"])
    nonce = "".join(rng.choice("abcdef0123456789") for _ in range(16))
    timestamp = str(rng.randint(1, 2**31))
    target = url(rng)
    headers = {"Content-Type": FORM} if body is not None else {}

    def make_client(**placement):
        return Client(
            consumer_key,
            client_secret=consumer_secret,
            resource_owner_key=token,
            resource_owner_secret=token_secret,
            callback_uri=callback,
            signature_method=sig_method,
            verifier=verifier,
            nonce=nonce,
            timestamp=timestamp,
            rsa_key=RSA_KEY if sig_method.startswith("RSA-") else None,
            **placement,
        )

    client = make_client(realm=realm)
    _, signed_headers, _ = client.sign(target, method, body, dict(headers))

    # The base string exactly as oauthlib's Client.get_oauth_signature builds it.
    request = Request(target, method, body, dict(headers))
    request.oauth_params = client.get_oauth_params(request)
    uri, rendered_headers, rendered_body = client._render(request)
    collected = signature.collect_parameters(
        uri_query=urlparse(uri).query, body=rendered_body, headers=rendered_headers
    )
    base_string = signature.signature_base_string(
        request.http_method, signature.base_string_uri(uri), signature.normalize_parameters(collected)
    )
    authorization = signed_headers["Authorization"]
    params = dict(utils.parse_authorization_header(authorization))

    # The same request signed by oauthlib in the query or the form body. In
    # those placements oauthlib unescapes oauth_* values a second time (not
    # RFC 5849), so cases with a `%` in one keep to the header.
    placement = "body" if body is not None and rng.random() < 0.5 else "query"
    if any("%" in (v or "") for v in (consumer_key, token, callback, verifier)):
        placement = "header"
    placed = make_client(
        signature_type=SIGNATURE_TYPE_BODY if placement == "body" else SIGNATURE_TYPE_QUERY
    )
    signed_url, signed_body = None, None
    if placement != "header":
        signed_url, _, signed_body = placed.sign(target, method, body, dict(headers))
    return {
        "id": index,
        "method": method,
        "url": target,
        "content_type": FORM if body is not None else None,
        "body": body,
        "signature_method": sig_method,
        "consumer_key": consumer_key,
        "consumer_secret": consumer_secret,
        "token": token,
        "token_secret": token_secret,
        "callback": callback,
        "verifier": verifier,
        "realm": realm,
        "nonce": nonce,
        "timestamp": int(timestamp),
        "base_string": base_string,
        "signature": utils.unescape(params["oauth_signature"]),
        "authorization": authorization,
        "placement": placement,
        "signed_url": signed_url,
        "signed_body": signed_body,
    }


def main():
    global RSA_KEY
    seed, count, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    if len(sys.argv) > 4:
        with open(sys.argv[4], encoding="ascii") as f:
            RSA_KEY = f.read()
    rng = random.Random(seed)
    cases = [case(rng, i) for i in range(count)]
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"seed": seed, "cases": cases}, f, ensure_ascii=False, indent=1)
    rsa = sum(1 for c in cases if c["signature_method"].startswith("RSA-"))
    print(f"oauthlib signed {len(cases)} randomized requests (seed {seed}; {rsa} with RSA)")


if __name__ == "__main__":
    main()
