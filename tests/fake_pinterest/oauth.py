"""Tokens: the browser authorize step, POST /v5/oauth/token, and which bearer tokens pass.

Refresh tokens rotate (each refresh returns a new one and kills the old), as NOTES.md warns.
"""

import base64
import secrets
import threading
import time
from urllib.parse import parse_qs, urlencode

from messages import ApiError, CODE_AUTH, CODE_INVALID, Response, bad_request

DEFAULT_SCOPE = "user_accounts:read,boards:read,boards:write,pins:read,pins:write"
ACCESS_LIFETIME = 30 * 86400
REFRESH_LIFETIME = 60 * 86400
CODE_LIFETIME = 600


class Tokens:
    def __init__(self, static_token, client_id, client_secret):
        self.lock = threading.Lock()
        self.client_id, self.client_secret = client_id, client_secret
        self.access = {static_token: True}   # token -> still accepted
        self.codes = {}                      # code -> (redirect_uri, scope, expiry)
        self.refresh = {}                    # refresh token -> scope

    def accepts(self, authorization):
        """True when an `Authorization: Bearer <token>` header carries a live token."""
        scheme, _, token = (authorization or "").partition(" ")
        with self.lock:
            return scheme.lower() == "bearer" and self.access.get(token.strip(), False)

    def expire(self, token=None):
        """Stop accepting `token`, or every access token issued so far."""
        with self.lock:
            for known in self.access:
                if token is None or known == token:
                    self.access[known] = False
            return token is None or token in self.access

    def authorize(self, req):
        """GET /oauth/?client_id&redirect_uri&response_type=code&scope&state: 302 with a code."""
        if req.arg("client_id") != self.client_id:
            raise bad_request("Unknown client_id.")
        if req.arg("response_type") != "code" or not req.arg("redirect_uri"):
            raise bad_request("response_type=code and redirect_uri are required.")
        code = secrets.token_urlsafe(16)
        redirect_uri = req.arg("redirect_uri")
        with self.lock:
            self.codes[code] = (redirect_uri, req.arg("scope") or DEFAULT_SCOPE, time.time() + CODE_LIFETIME)
        query = {"code": code}
        if req.arg("state") is not None:
            query["state"] = req.arg("state")
        separator = "&" if "?" in redirect_uri else "?"
        return Response(302, b"", {"Location": redirect_uri + separator + urlencode(query)}, "text/plain")

    def _check_client(self, authorization):
        scheme, _, encoded = (authorization or "").partition(" ")
        try:
            client = base64.b64decode(encoded.strip(), validate=True).decode()
        except ValueError:
            client = ""
        if scheme.lower() != "basic" or client != f"{self.client_id}:{self.client_secret}":
            raise ApiError(401, CODE_AUTH, "Authentication failed.")

    def token(self, req):
        """POST /v5/oauth/token (form-encoded): authorization_code or refresh_token grants."""
        self._check_client(req.headers.get("authorization"))
        form = {k: v[-1] for k, v in parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        grant = form.get("grant_type")
        with self.lock:
            if grant == "authorization_code":
                entry = self.codes.pop(form.get("code", ""), None)
                if entry is None or entry[2] < time.time():
                    raise ApiError(400, CODE_INVALID, "Invalid authorization code.")
                if form.get("redirect_uri") != entry[0]:
                    raise ApiError(400, CODE_INVALID, "redirect_uri does not match the authorize request.")
                scope = entry[1]
            elif grant == "refresh_token":
                scope = self.refresh.pop(form.get("refresh_token", ""), None)
                if scope is None:
                    raise ApiError(400, CODE_INVALID, "Invalid refresh token.")
            else:
                raise ApiError(400, CODE_INVALID, f"Unsupported grant_type {grant!r}.")
            return Response(200, self._issue(scope, grant))

    def _issue(self, scope, grant):
        access, refresh = "pina_" + secrets.token_urlsafe(24), "pinr_" + secrets.token_urlsafe(24)
        self.access[access] = True
        self.refresh[refresh] = scope
        return {"access_token": access, "token_type": "bearer", "expires_in": ACCESS_LIFETIME,
                "scope": scope, "refresh_token": refresh, "refresh_token_expires_in": REFRESH_LIFETIME,
                "refresh_token_expires_at": int(time.time()) + REFRESH_LIFETIME, "response_type": grant}
