"""A throwaway OCI distribution registry for the image-store integration tests.

This module is a helper library, not a test file. It runs Debian's
`docker-registry` (github.com/docker/distribution 2.8) on a free loopback port
with a private temporary storage directory, in one of three modes:

  plain  no authentication at all.
  basic  HTTP Basic authentication against a bcrypt htpasswd file made with
         `htpasswd -Bbn`.
  token  Docker token authentication ("Bearer" challenges). An in-process
         token server (http.server in a thread, on a second loopback port)
         issues RS256 JWTs signed with a freshly generated RSA key; the
         registry trusts that key through a self-signed certificate in its
         `auth.token.rootcertbundle`.

Token server rules (mode="token"):
  * valid HTTP Basic credentials: every requested action is granted;
  * no credentials (anonymous): only `pull` on repositories whose name starts
    with "public/" is granted, everything else is silently dropped from the
    token (the registry then answers 401/403 for the operation);
  * wrong credentials: 401 with a JSON body
    {"errors": [{"code": "UNAUTHORIZED", "message": "..."}]};
  * POST /token (the OAuth2 flavour) accepts grant_type=password
    (username/password form fields) and grant_type=refresh_token, where the
    refresh token must equal Registry.identity_token.

Helpers at the bottom push OCI image layouts with skopeo, pull them back, and
delete or corrupt a blob directly in the registry's storage so a client's
digest verification can be tested.

Nothing here keeps global state: every Registry owns its processes, threads
and temporary directories, and stop() (or leaving the `with` block) removes
them all.
"""
import base64
import hashlib
import http.server
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

REGISTRY_BIN = "/usr/bin/docker-registry"
SKOPEO_BIN = "/usr/bin/skopeo"
HTPASSWD_BIN = "/usr/bin/htpasswd"

# Names the registry config and the token server agree on.
TOKEN_SERVICE = "arca-test-registry"
TOKEN_ISSUER = "arca-test-token-issuer"
# The fixed identity (refresh) token accepted by POST /token with
# grant_type=refresh_token. Tests that exercise identity-token logins use it.
IDENTITY_TOKEN = "arca-test-identity-token-5d41402abc4b2a76b9719d911017c592"
DEFAULT_USER = "arca"
DEFAULT_PASSWORD = "arca-test-password"
# Anonymous clients may pull, and only pull, repositories under this prefix.
PUBLIC_PREFIX = "public/"

STARTUP_TIMEOUT = 20.0   # seconds until GET /v2/ must answer
SKOPEO_TIMEOUT = 300     # seconds for one skopeo command


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago.

    There is an unavoidable race between closing the probe socket and the
    registry binding the port; Registry retries its start on another port if
    the registry process dies early.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _b64url(data):
    """Unpadded base64url, as JOSE requires."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def libtrust_key_id(public_key):
    """The libtrust key ID that docker/distribution uses as a JWT "kid".

    base32 of the first 240 bits of SHA-256 over the DER SubjectPublicKeyInfo,
    cut into 12 groups of 4 characters joined with ':'.
    """
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii")
    return ":".join(b32[i:i + 4] for i in range(0, 48, 4))


def parse_scope(scope):
    """Split "repository:NAME:pull,push" into ("repository", NAME, [actions]).

    The name may itself contain ':' (a registry host with a port), so the type
    is everything before the first ':' and the actions everything after the
    last one. A resource class such as "repository(plugin)" is reduced to its
    type. Returns None for a malformed scope.
    """
    first, last = scope.find(":"), scope.rfind(":")
    if first < 0 or first == last:
        return None
    rtype = scope[:first].split("(", 1)[0]
    name = scope[first + 1:last]
    actions = [a for a in scope[last + 1:].split(",") if a]
    if not rtype or not name:
        return None
    return rtype, name, actions


def decode_jwt(token):
    """(header, claims) of a compact JWT, without verifying it."""
    head, payload, _sig = token.split(".")
    return json.loads(_b64url_decode(head)), json.loads(_b64url_decode(payload))


class _TokenAuthority:
    """The signing half of the token server: key, certificate, JWT minting."""

    def __init__(self, workdir, ttl):
        self.ttl = ttl
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.now(timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "arca test token signer")])
        # Self-signed and marked as a CA so that Go's x509 verification
        # accepts it both as the root in rootcertbundle and as the x5c leaf.
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.cert_der = self.cert.public_bytes(serialization.Encoding.DER)
        self.kid = libtrust_key_id(self.key.public_key())
        self.cert_path = os.path.join(workdir, "token-signer.crt")
        with open(self.cert_path, "wb") as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))

    def mint(self, subject, access, service, header_fields=("x5c", "kid"), ttl=None):
        """A signed RS256 JWT granting `access` (list of resource dicts).

        header_fields chooses how the key is identified to the registry: "x5c"
        (the certificate), "kid" (the libtrust key ID), or both (the default).
        """
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256"}
        if "x5c" in header_fields:
            header["x5c"] = [base64.b64encode(self.cert_der).decode("ascii")]
        if "kid" in header_fields:
            header["kid"] = self.kid
        claims = {
            "iss": TOKEN_ISSUER,
            "sub": subject,
            "aud": service,
            "exp": now + (self.ttl if ttl is None else ttl),
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        signing_input = (_b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         _b64url(json.dumps(claims, separators=(",", ":")).encode()))
        sig = self.key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(sig)

    def verify(self, token):
        """Check a token's signature with our key; returns its claims."""
        head, payload, sig = token.split(".")
        self.key.public_key().verify(_b64url_decode(sig), (head + "." + payload).encode("ascii"),
                                     padding.PKCS1v15(), hashes.SHA256())
        return json.loads(_b64url_decode(payload))


class _TokenHandler(http.server.BaseHTTPRequestHandler):
    """GET and POST /token of the Docker token protocol (see module doc)."""

    server_version = "arca-test-token-server/1"
    protocol_version = "HTTP/1.1"

    # The owning Registry; set on a per-server subclass.
    registry = None

    def log_message(self, fmt, *args):  # keep pytest output clean
        pass

    def _send_json(self, status, obj, extra_headers=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _unauthorized(self, message, log):
        log["status"] = 401
        self.registry._log_token_request(log)
        self._send_json(401, {"errors": [{"code": "UNAUTHORIZED", "message": message}]},
                        [("WWW-Authenticate", 'Basic realm="arca-test-token-server"')])

    def _basic_credentials(self):
        """(user, password) from an Authorization: Basic header, or None.
        A malformed header counts as wrong credentials: ("", "")."""
        auth = self.headers.get("Authorization")
        if not auth:
            return None
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "basic":
            return ("", "")
        try:
            user, sep, password = base64.b64decode(value.strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return ("", "")
        return (user, password) if sep else ("", "")

    def _grant(self, user, scopes):
        """The access list for `user` (None = anonymous) asking for `scopes`."""
        access = []
        for scope in scopes:
            parsed = parse_scope(scope)
            if parsed is None:
                continue
            rtype, name, actions = parsed
            if user is not None:
                granted = actions
            elif rtype == "repository" and name.startswith(PUBLIC_PREFIX):
                granted = [a for a in actions if a == "pull"]
            else:
                granted = []
            # Merge with an earlier grant for the same resource.
            for entry in access:
                if entry["type"] == rtype and entry["name"] == name:
                    entry["actions"] += [a for a in granted if a not in entry["actions"]]
                    break
            else:
                access.append({"type": rtype, "name": name, "actions": list(granted)})
        return access

    def _issue(self, user, scopes, service, log, post, offline):
        access = self._grant(user, scopes)
        token = self.registry._authority.mint(user or "", access, service or TOKEN_SERVICE)
        log.update(status=200, access=access)
        self.registry._log_token_request(log)
        reply = {"token": token, "access_token": token,
                 "expires_in": self.registry._authority.ttl,
                 "issued_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        if post:
            reply["scope"] = " ".join(scopes)
        if offline and user is not None:
            reply["refresh_token"] = self.registry.identity_token
        self._send_json(200, reply)

    def _read_body(self, limit=1 << 20):
        """The request body, by Content-Length or chunked (containers/image
        sends its OAuth2 form without a length)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass    # trailers
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()     # CRLF after the chunk
                if len(body) > limit:
                    raise ValueError("request body too large")
        return self.rfile.read(min(int(self.headers.get("Content-Length") or 0), limit))

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            self._send_json(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
            return
        q = urllib.parse.parse_qs(url.query)
        scopes = [s for v in q.get("scope", []) for s in v.split(" ") if s]
        service = q.get("service", [TOKEN_SERVICE])[0]
        creds = self._basic_credentials()
        log = {"method": "GET", "user": creds[0] if creds else None, "scopes": scopes,
               "service": service}
        if creds is not None and not self.registry._check_password(*creds):
            self._unauthorized("invalid username or password", log)
            return
        offline = q.get("offline_token", ["false"])[0].lower() == "true"
        self._issue(creds[0] if creds else None, scopes, service, log, post=False,
                    offline=offline)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        form = urllib.parse.parse_qs(self._read_body().decode("utf-8", "replace"))
        if url.path != "/token":
            self._send_json(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
            return
        field = lambda k: form.get(k, [""])[0]  # noqa: E731
        # Scopes arrive space-separated in one field, or as repeated fields.
        scopes = [s for v in form.get("scope", []) for s in v.split(" ") if s]
        service = field("service") or TOKEN_SERVICE
        grant_type = field("grant_type")
        log = {"method": "POST", "grant_type": grant_type, "scopes": scopes, "service": service,
               "client_id": field("client_id")}
        if grant_type == "password":
            user = field("username")
            log["user"] = user
            if not self.registry._check_password(user, field("password")):
                self._unauthorized("invalid username or password", log)
                return
        elif grant_type == "refresh_token":
            log["user"] = None
            if field("refresh_token") != self.registry.identity_token:
                self._unauthorized("invalid refresh token", log)
                return
            user = self.registry.user
            log["user"] = user
        else:
            log["status"] = 400
            self.registry._log_token_request(log)
            self._send_json(400, {"error": "unsupported_grant_type",
                                  "error_description": f"grant_type={grant_type!r}"})
            return
        self._issue(user, scopes, service, log, post=True,
                    offline=field("access_type") == "offline")


class Registry:
    """A running docker-registry (see the module doc for the modes).

    Attributes:
      host      "127.0.0.1:PORT", what goes in image references
      url       "http://127.0.0.1:PORT"
      mode      "plain", "basic" or "token"
      user, password, creds ("user:password" for skopeo, None in plain mode)
      storage   the registry's filesystem storage root
      token_url the token realm (token mode only)
      identity_token  the refresh token that POST /token accepts
      token_requests  list of dicts, one per token request served (token mode)
    """

    identity_token = IDENTITY_TOKEN
    service = TOKEN_SERVICE
    issuer = TOKEN_ISSUER

    def __init__(self, mode="plain", user=DEFAULT_USER, password=DEFAULT_PASSWORD,
                 token_ttl=300):
        if mode not in ("plain", "basic", "token"):
            raise ValueError(f"unknown registry mode {mode!r}")
        self.mode = mode
        self.user = user
        self.password = password
        self.creds = None if mode == "plain" else f"{user}:{password}"
        self.token_requests = []
        self._lock = threading.Lock()
        self._proc = None
        self._log_file = None
        self._token_server = None
        self._token_thread = None
        self._authority = None
        self.token_url = None
        self._tmp = tempfile.mkdtemp(prefix="arca-registry-")
        try:
            self.storage = os.path.join(self._tmp, "storage")
            os.mkdir(self.storage)
            if mode == "token":
                self._authority = _TokenAuthority(self._tmp, token_ttl)
                self._start_token_server()
            elif mode == "basic":
                self._write_htpasswd()
            self._start_registry()
        except BaseException:
            self.stop()
            raise

    # -- setup -------------------------------------------------------------

    @property
    def ports(self):
        """The loopback ports a client needs: the registry's, and the token server's."""
        out = [int(self.host.rsplit(":", 1)[1])]
        if getattr(self, "token_url", None):
            out.append(int(self.token_url.split(":")[2].split("/")[0]))
        return out

    def _write_htpasswd(self):
        out = subprocess.run([HTPASSWD_BIN, "-Bbn", self.user, self.password],
                             check=True, capture_output=True, text=True, timeout=60)
        self._htpasswd = os.path.join(self._tmp, "htpasswd")
        with open(self._htpasswd, "w") as f:
            f.write(out.stdout.strip() + "\n")

    def _start_token_server(self):
        handler = type("TokenHandler", (_TokenHandler,), {"registry": self})
        self._token_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._token_server.daemon_threads = True
        port = self._token_server.server_address[1]
        self.token_url = f"http://127.0.0.1:{port}/token"
        self._token_thread = threading.Thread(target=self._token_server.serve_forever,
                                              kwargs={"poll_interval": 0.1},
                                              name="arca-test-token-server", daemon=True)
        self._token_thread.start()

    def _config(self, port):
        """The registry configuration. JSON is valid YAML, which is what the
        registry parses, so no YAML library is needed."""
        cfg = {
            "version": "0.1",
            "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
            "storage": {
                "filesystem": {"rootdirectory": self.storage},
                "delete": {"enabled": True},
                # Deliberately no "cache" section (no blob descriptor cache):
                # corrupt_blob/delete_blob change the storage behind the
                # registry's back and must be seen at once. No background
                # upload purging either: nothing runs but the requests.
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {
                "addr": f"127.0.0.1:{port}",
                "secret": secrets.token_hex(16),
                "headers": {"X-Content-Type-Options": ["nosniff"]},
            },
            "health": {"storagedriver": {"enabled": False}},
        }
        if self.mode == "basic":
            cfg["auth"] = {"htpasswd": {"realm": "arca-test-basic", "path": self._htpasswd}}
        elif self.mode == "token":
            cfg["auth"] = {"token": {
                "realm": self.token_url,
                "service": TOKEN_SERVICE,
                "issuer": TOKEN_ISSUER,
                "rootcertbundle": self._authority.cert_path,
            }}
        return cfg

    def _start_registry(self):
        last_error = "?"
        for _attempt in range(3):
            port = free_port()
            cfg_path = os.path.join(self._tmp, "config.yml")
            with open(cfg_path, "w") as f:
                json.dump(self._config(port), f, indent=2)
            self._log_path = os.path.join(self._tmp, "registry.log")
            self._log_file = open(self._log_path, "ab")
            env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
            self._proc = subprocess.Popen([REGISTRY_BIN, "serve", cfg_path],
                                          stdin=subprocess.DEVNULL, stdout=self._log_file,
                                          stderr=subprocess.STDOUT, env=env,
                                          start_new_session=True)
            self.host = f"127.0.0.1:{port}"
            self.url = f"http://{self.host}"
            if self._wait_ready():
                return
            last_error = self.log_tail()
            self._stop_process()
        raise RuntimeError(f"docker-registry did not start:\n{last_error}")

    def _wait_ready(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url + "/v2/", timeout=2) as r:
                    if r.status == 200:
                        return True
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        return False

    # -- token server support ----------------------------------------------

    def _check_password(self, user, password):
        return user == self.user and password == self.password

    def _log_token_request(self, entry):
        with self._lock:
            self.token_requests.append(entry)

    def mint_token(self, access, subject=None, header_fields=("x5c", "kid"), ttl=None):
        """A token signed by this registry's token server key (token mode).

        access: a list like [{"type": "repository", "name": "x", "actions": ["pull"]}].
        header_fields: which of "x5c"/"kid" to put in the JWT header.
        """
        if self._authority is None:
            raise RuntimeError("mint_token needs mode='token'")
        return self._authority.mint(self.user if subject is None else subject, access,
                                    TOKEN_SERVICE, header_fields=header_fields, ttl=ttl)

    def verify_token(self, token):
        """Claims of a token after checking its signature against our key."""
        return self._authority.verify(token)

    @property
    def token_cert_pem(self):
        """The PEM certificate the registry trusts for tokens (token mode)."""
        return self._authority.cert.public_bytes(serialization.Encoding.PEM)

    def get_token(self, scopes=(), creds=None, service=TOKEN_SERVICE):
        """GET the token server as a client would: returns (status, json)."""
        query = [("service", service)] + [("scope", s) for s in scopes]
        req = urllib.request.Request(self.token_url + "?" + urllib.parse.urlencode(query))
        if creds:
            req.add_header("Authorization",
                           "Basic " + base64.b64encode(creds.encode()).decode())
        return _http_json(req)

    def post_token(self, fields):
        """POST form `fields` (dict or list of pairs) to the token server:
        returns (status, json)."""
        data = urllib.parse.urlencode(fields).encode()
        req = urllib.request.Request(self.token_url, data=data, method="POST",
                                     headers={"Content-Type":
                                              "application/x-www-form-urlencoded"})
        return _http_json(req)

    # -- the registry API --------------------------------------------------

    def api(self, method, path, creds="default", headers=None, data=None, scopes=None):
        """One request to the registry API, authenticating as a client would.

        creds: "user:password", None for anonymous, or "default" for this
        registry's own credentials. In token mode a token is fetched for
        `scopes` (default: pull,push on the repository named in `path`).
        Returns (status, headers, body bytes).
        """
        if creds == "default":
            creds = self.creds
        hdrs = dict(headers or {})
        if self.mode == "basic" and creds:
            hdrs["Authorization"] = "Basic " + base64.b64encode(creds.encode()).decode()
        elif self.mode == "token":
            if scopes is None and path.startswith("/v2/_catalog"):
                scopes = ["registry:catalog:*"]
            if scopes is None:
                scopes = []
                parts = path.split("?")[0].split("/")
                # /v2/<name...>/(manifests|blobs|tags)/...
                for i, p in enumerate(parts):
                    if i > 2 and p in ("manifests", "blobs", "tags"):
                        scopes = [f"repository:{'/'.join(parts[2:i])}:pull,push"]
                        break
            status, tok = self.get_token(scopes, creds)
            if status == 200:
                hdrs["Authorization"] = "Bearer " + tok["token"]
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def manifest_digest(self, repo, ref, creds="default"):
        """Docker-Content-Digest of a manifest or index, or None if absent."""
        accept = ", ".join([
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.docker.distribution.manifest.v2+json",
        ])
        status, headers, _ = self.api("HEAD", f"/v2/{repo}/manifests/{ref}", creds=creds,
                                      headers={"Accept": accept})
        return headers.get("Docker-Content-Digest") if status == 200 else None

    # -- teardown ----------------------------------------------------------

    def log_tail(self, n=40):
        """The last n lines of the registry's log (for failure messages)."""
        try:
            with open(self._log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except (OSError, AttributeError):
            return ""

    def _stop_process(self):
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            self._proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def stop(self):
        """Stop the registry and the token server; remove every temp file.
        Safe to call more than once."""
        self._stop_process()
        if self._token_server is not None:
            self._token_server.shutdown()
            self._token_server.server_close()
            self._token_thread.join(timeout=10)
            self._token_server = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return f"<Registry {self.mode} {getattr(self, 'host', '?')}>"


def _http_json(req):
    """(status, parsed JSON body or None) of a urllib request."""
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


# -- skopeo helpers ---------------------------------------------------------

def skopeo(*args, check=True, timeout=SKOPEO_TIMEOUT, auths=None):
    """Run skopeo with a private auth file so that no stored login on this
    machine changes the outcome. `auths` fills that file's "auths" map, e.g.
    {registry.host: {"identitytoken": IDENTITY_TOKEN}}; by default it is
    empty. Returns the CompletedProcess; with check=True a failure raises
    RuntimeError carrying skopeo's stderr."""
    with tempfile.TemporaryDirectory(prefix="arca-skopeo-") as d:
        auth = os.path.join(d, "auth.json")
        with open(auth, "w") as f:
            json.dump({"auths": auths or {}}, f)
        env = dict(os.environ, REGISTRY_AUTH_FILE=auth, DOCKER_CONFIG=d)
        cmd = [SKOPEO_BIN, "--insecure-policy", *args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return p


def push_oci_layout(registry, layout_dir, ref, creds=None, tag="latest", check=True):
    """Push the image tagged `tag` in an OCI layout to registry/ref.

    `ref` is "repo:tag" or "repo@digest" without the host. All the images of
    an index are pushed (--all) and digests are preserved, so the manifest
    (or index) digest in the registry equals the one in the layout.
    Returns skopeo's CompletedProcess.
    """
    args = ["copy", "--all", "--preserve-digests", "--dest-tls-verify=false"]
    args += ["--dest-creds", creds] if creds else ["--dest-no-creds"]
    args += [f"oci:{layout_dir}:{tag}", f"docker://{registry.host}/{ref}"]
    return skopeo(*args, check=check)


def pull_oci_layout(registry, ref, layout_dir, creds=None, tag="latest", check=True):
    """Copy registry/ref into an OCI layout (tagged `tag`) with skopeo,
    keeping every image of an index and the digests."""
    args = ["copy", "--all", "--preserve-digests", "--src-tls-verify=false"]
    args += ["--src-creds", creds] if creds else ["--src-no-creds"]
    args += [f"docker://{registry.host}/{ref}", f"oci:{layout_dir}:{tag}"]
    return skopeo(*args, check=check)


def inspect_raw(registry, ref, creds=None, check=True):
    """The raw manifest or index of registry/ref as skopeo sees it (bytes as
    text in .stdout of the CompletedProcess)."""
    args = ["inspect", "--raw", "--tls-verify=false"]
    args += ["--creds", creds] if creds else ["--no-creds"]
    args += [f"docker://{registry.host}/{ref}"]
    return skopeo(*args, check=check)


# -- storage tampering ------------------------------------------------------

def _hex(digest):
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64:
        raise ValueError(f"not a sha256 digest: {digest!r}")
    return hexpart


def blob_path(registry, digest):
    """Path of a blob's data file in the registry's filesystem storage."""
    h = _hex(digest)
    return os.path.join(registry.storage, "docker/registry/v2/blobs/sha256", h[:2], h, "data")


def _check_linked(registry, repo, digest):
    """Fail loudly if `repo` does not reference the blob (a typo in a test
    would otherwise make the tampering silently hit nothing)."""
    h = _hex(digest)
    base = os.path.join(registry.storage, "docker/registry/v2/repositories", repo)
    links = [os.path.join(base, "_layers/sha256", h, "link"),
             os.path.join(base, "_manifests/revisions/sha256", h, "link")]
    if not any(os.path.exists(p) for p in links):
        raise FileNotFoundError(f"{repo} does not reference {digest} in {registry.storage}")
    path = blob_path(registry, digest)
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    return path


def delete_blob(registry, repo, digest):
    """Remove a blob's data file from storage behind the registry's back.

    The repository still links the blob, so the registry keeps listing it but
    answers 404 BLOB_UNKNOWN when it is fetched. Returns the removed path.
    """
    path = _check_linked(registry, repo, digest)
    os.unlink(path)
    return path


def corrupt_blob(registry, repo, digest, data=None):
    """Overwrite a blob's data file so its content no longer matches `digest`.

    By default the content keeps its length and only one byte in the middle
    is flipped, so the registry still serves it with the right
    Content-Length and Docker-Content-Digest: only a client that hashes what
    it receives notices. Pass `data` to store exactly those bytes instead.
    Returns the path of the data file.
    """
    path = _check_linked(registry, repo, digest)
    with open(path, "rb") as f:
        old = f.read()
    if data is None:
        if not old:
            data = b"\0"
        else:
            i = len(old) // 2
            data = old[:i] + bytes([old[i] ^ 0xFF]) + old[i + 1:]
    with open(path, "wb") as f:
        f.write(data)
    return path
