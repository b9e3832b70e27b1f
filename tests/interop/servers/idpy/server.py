"""idpy-oidc 5.0.0 (PyPI idpyoidc) as an authorization server for the
client-credentials grant on http://127.0.0.1:$PORT, for scripts/interop.sh.

idpyoidc is a library: the HTTP layer is the application's. This one is a
small http.server that does what the library's own example application
does (example/flask_op/views.py, service_endpoint): /token takes GET
(the query) and POST (the form), then parse_request, process_request,
do_response; a failed client authentication on GET is 401
unauthorized_client, every other exception 400 invalid_request.

Clients (from the environment scripts/interop.sh exports): basic-client and
post-client (their secrets), jwt-client (client_secret_jwt: the secret is
also the HS256 key in the server's key jar, which only idpy's registration
endpoint would put there), key-client (private_key_jwt: the public halves
of the demo ES256 and RS256 keys in the key jar).

One change to the library's behaviour, and only this: idpyoidc 5.0.0's
client-credentials helper fails every grant after a client's first (its
`_mngr.get(["client_credentials", client_id])` returns a ClientSessionInfo,
which it then subscripts: "'ClientSessionInfo' object is not subscriptable",
token_helper/client_credentials.py, line 42; unchanged on upstream main).
The token endpoint's `grant_types_helpers` hook takes the helper below
instead, which takes the path 5.0.0 takes for a client's first grant on
every grant. See docs/interop.md.
"""
import json
import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptojwt.jwk.ec import ECKey
from cryptojwt.jwk.rsa import RSAKey
from idpyoidc.message.oauth2 import ResponseMessage
from idpyoidc.server import Server
from idpyoidc.server.configure import ASConfiguration
from idpyoidc.server.exception import ClientAuthenticationError
from idpyoidc.server.oauth2.token_helper.client_credentials import ClientCredentials
from idpyoidc.time_util import utc_time_sans_frac

PORT = int(os.environ["PORT"])
ISSUER = f"http://127.0.0.1:{PORT}"
WORK = os.environ.get("IDPY_WORK") or os.getcwd()
METHODS = ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"]


class RepeatableClientCredentials(ClientCredentials):
    """5.0.0's ClientCredentials.process_request as it runs for a client's
    first grant (a new grant, then the same token and answer), on every
    grant."""

    def process_request(self, req, **kwargs):
        context = self.endpoint.upstream_get("context")
        sessions = context.session_manager
        client_id = req["client_id"]
        if not req.get("authenticated", False):
            return self.error_cls(error="invalid_request", error_description="Wrong client")
        client = context.cdb[client_id]
        grants = client.get("grant_types_supported")
        if grants and "client_credentials" not in grants:
            return self.error_cls(error="invalid_request", error_description="Unsupported grant type")
        branch = sessions.add_grant(["client_credentials", client_id])
        info = sessions.get_session_info(branch)
        scope = client.get("allowed_scopes", [])
        token = self._mint_token(
            token_class="access_token",
            grant=info["grant"],
            session_id=info["branch_id"],
            client_id=info["client_id"],
            based_on=None,
            scope=scope,
            token_type="Bearer",
        )
        answer = {"access_token": token.value, "token_type": token.token_class, "scope": scope}
        if token.expires_at:
            answer["expires_in"] = token.expires_at - utc_time_sans_frac()
        return answer


CONF = {
    "issuer": ISSUER,
    "httpc_params": {"verify": False},
    "keys": {
        "uri_path": "jwks.json",
        "key_defs": [{"type": "RSA", "key": "", "use": ["sig"]}, {"type": "EC", "crv": "P-256", "use": ["sig"]}],
        "read_only": False,
    },
    "preference": {
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["HS256", "RS256", "ES256"],
        "scopes_supported": ["api:read"],
    },
    "token_handler_args": {
        "code": {"lifetime": 600},
        "token": {
            "class": "idpyoidc.server.token.jwt_token.JWTToken",
            "kwargs": {"lifetime": 3600, "add_claims_by_scope": True, "aud": [ISSUER + "/api"]},
        },
    },
    "endpoint": {
        "provider_config": {
            "path": ".well-known/openid-configuration",
            "class": "idpyoidc.server.oidc.provider_config.ProviderConfiguration",
            "kwargs": {"client_authn_method": None},
        },
        "server_metadata": {
            "path": ".well-known/oauth-authorization-server",
            "class": "idpyoidc.server.oauth2.server_metadata.ServerMetadata",
            "kwargs": {"client_authn_method": None},
        },
        "token": {
            "path": "token",
            "class": "idpyoidc.server.oidc.token.Token",
            "kwargs": {
                "client_authn_method": METHODS,
                "grant_types_helpers": {"client_credentials": {"class": RepeatableClientCredentials, "kwargs": {}}},
            },
        },
    },
    "claims_interface": {"class": "idpyoidc.server.session.claims.OAuth2ClaimsInterface", "kwargs": {}},
    "userinfo": {"class": "idpyoidc.server.user_info.UserInfo", "kwargs": {"db": {}}},
}


def public_jwk(path):
    with open(path, "rb") as f:
        data = f.read()
    key = serialization.load_pem_private_key(data, password=None).public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return ECKey(pub_key=key, use="sig").serialize()
    if isinstance(key, rsa.RSAPublicKey):
        return RSAKey(pub_key=key, use="sig").serialize()
    raise SystemExit(f"{path}: an EC or RSA key expected")


def start():
    os.makedirs(WORK, exist_ok=True)
    server = Server(ASConfiguration(conf=CONF, base_path=WORK), cwd=WORK)
    cdb = server.context.cdb
    common = {"allowed_scopes": ["api:read"], "grant_types_supported": ["client_credentials"]}
    for name, var in [("basic-client", "BASIC_SECRET"), ("post-client", "POST_SECRET"), ("jwt-client", "JWT_SECRET")]:
        cdb[name] = {"client_id": name, "client_secret": os.environ[var], **common}
    server.keyjar.add_symmetric("jwt-client", os.environ["JWT_SECRET"], ["sig"])
    cdb["key-client"] = {"client_id": "key-client", **common}
    keys = [public_jwk(os.environ[v]) for v in ("ES256_KEY", "RS256_KEY")]
    server.keyjar.import_jwks({"keys": keys}, "key-client")
    return server


SERVER = start()
LOCK = threading.Lock()  # idpyoidc's sessions, jti memory and client table are not thread-safe


def refused(status, error, description):
    """What the example application answers to an exception."""
    body = json.dumps({"error": error, "error_description": description})
    return status, body, [("Content-Type", "application/json")]


def token(method, args, http_info):
    endpoint = SERVER.get_endpoint("token")
    try:
        req = endpoint.parse_request(args, http_info=http_info)
    except ClientAuthenticationError as err:
        logging.warning("token: %s", err)
        if method == "GET":
            return refused(401, "unauthorized_client", str(err))
        return refused(400, "invalid_request", str(err))
    except Exception as err:
        logging.warning("token: %s", err)
        return refused(400, "invalid_request", str(err))
    if isinstance(req, ResponseMessage) and "error" in req:
        return 400, req.to_json(), [("Content-Type", "application/json")]
    try:
        args = endpoint.process_request(req, http_info=http_info)
        if isinstance(args, ResponseMessage) and "error" in args:
            return 400, args.to_json(), [("Content-Type", "application/json")]
        info = endpoint.do_response(request=req, **args)
    except Exception as err:
        logging.warning("token: %s", err)
        return refused(400, "invalid_request", str(err))
    return 200, info["response"], info["http_headers"]


def first_of_each(query):
    """A form as werkzeug's `form.items()` gives it: a repeated parameter's
    first value."""
    form = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        form.setdefault(k, v)
    return form


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, headers):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("content-length", "set-cookie"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        # A body sent with GET is read (and, as by the example, ignored):
        # left unread it would be taken for the connection's next request.
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        if parts.path == "/token":
            return self.token("GET", first_of_each(parts.query))
        with LOCK:
            if parts.path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
                name = "provider_config" if parts.path.endswith("openid-configuration") else "server_metadata"
                endpoint = SERVER.get_endpoint(name)
                info = endpoint.do_response(**endpoint.process_request())
                answer = 200, info["response"], info["http_headers"]
            elif parts.path == "/jwks.json":
                answer = 200, json.dumps(SERVER.keyjar.export_jwks()), [("Content-Type", "application/json")]
            else:
                answer = 404, "{}", [("Content-Type", "application/json")]
        self.answer(*answer)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        if urlsplit(self.path).path != "/token":
            return self.answer(404, "{}", [("Content-Type", "application/json")])
        self.token("POST", first_of_each(body))

    def token(self, method, args):
        http_info = {
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "method": method,
            "url": ISSUER + self.path,
        }
        with LOCK:
            answer = token(method, args, http_info)
        self.answer(*answer)


if __name__ == "__main__":
    httpd = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    httpd.daemon_threads = True
    httpd.serve_forever()
