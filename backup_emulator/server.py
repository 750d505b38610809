"""HTTP front of the emulator: the REST-JSON wire protocol of the botocore ``backup`` model.

It routes the five framework operations by method and path, takes the account from the access key
id and the Region from the SigV4 credential scope (signatures are not verified), applies injected
faults and latency, asks ``State`` for the answer, logs the call and writes the answer the way AWS
does: ``x-amzn-RequestId`` on every answer, errors with ``x-amzn-ErrorType`` and a JSON body.
Run-time controls for tests live under ``/_emulator/`` (see ``control.py`` for the client).

HTTP/1.1 with keep-alive, because botocore pools connections: every answer carries Content-Length.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import rules
from .rules import ApiError
from .state import State

ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazonaws.backup/"
DEFAULT_ACCOUNT = "123456789012"
CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[0-9]{8}/([^/,\s]+)/[^/,\s]+/aws4_request")
ACCOUNT_KEY = re.compile(r"[0-9]{12}")
COLLECTION = "/audit/frameworks"


def route(method: str, path: str) -> tuple[str, str | None] | None:
    """(operation, framework name) for a request line, or None when no operation matches."""
    if path == COLLECTION:
        return {"POST": ("CreateFramework", None), "GET": ("ListFrameworks", None)}.get(method)
    prefix = COLLECTION + "/"
    if path.startswith(prefix) and "/" not in path[len(prefix) :]:
        name = unquote(path[len(prefix) :])
        operation = {
            "GET": "DescribeFramework",
            "PUT": "UpdateFramework",
            "DELETE": "DeleteFramework",
        }
        return (operation[method], name) if method in operation else None
    return None


def caller(authorization: str | None) -> tuple[str, str]:
    """(account, Region) from a SigV4 Authorization header."""
    if not authorization:
        raise ApiError("MissingAuthenticationTokenException", "Missing Authentication Token")
    match = CREDENTIAL.search(authorization)
    if match is None:
        raise ApiError(
            "IncompleteSignatureException",
            "Authorization header requires Credential=AKID/DATE/REGION/SERVICE/aws4_request.",
        )
    access_key, region = match.groups()
    return (access_key if ACCOUNT_KEY.fullmatch(access_key) else DEFAULT_ACCOUNT), region


class EmulatorServer(ThreadingHTTPServer):
    """A threading HTTP server that can close its keep-alive connections when it stops."""

    daemon_threads = True
    block_on_close = True  # server_close() joins the handler threads: no thread outlives the server

    def __init__(self, address: tuple[str, int], state: State, *, verbose: bool = False) -> None:
        self.state = state
        self.verbose = verbose
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        # Idle keep-alive connections would block their threads (and so the join) until the client
        # hangs up; shutting them down makes each handler see EOF and return.
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        super().server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.verbose:
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BackupEmulator/1.0"
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    server: EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    # --- plumbing -------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: dict[str, Any] | None, headers: dict[str, str]) -> None:
        payload = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_error(self, error: ApiError, request_id: str) -> None:
        headers = {
            "x-amzn-RequestId": request_id,
            "x-amzn-ErrorType": error.code + ERROR_TYPE_SUFFIX,
        }
        self._send(error.status, error.body(), headers)

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        raw = self._read_body()
        if split.path.startswith("/_emulator/"):
            self._control(self.command, split.path[len("/_emulator/") :], raw)
        else:
            self._api(split.path, split.query, raw)

    # --- the AWS API ----------------------------------------------------------------------------

    def _api(self, path: str, query: str, raw: bytes) -> None:
        state = self.server.state
        request_id = str(uuid.uuid4())
        query_params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        call: dict[str, Any] = {
            "account": None,
            "region": None,
            "operation": None,
            "framework_name": None,
            "idempotency_token": None,
            "request": dict(query_params),
            "status": None,
            "response": None,
            "error_code": None,
            "effective": False,
            "dropped": False,
            "request_id": request_id,
        }
        try:
            matched = route(self.command, path)
            if matched is None:
                raise ApiError(
                    "UnknownOperationException", f"No operation for {self.command} {path}"
                )
            operation, name = matched
            call.update(operation=operation, framework_name=name)
            call["account"], call["region"] = caller(self.headers.get("Authorization"))
            params = self._params(raw, query_params, name)
            call["request"] = params
            call["idempotency_token"] = params.get("IdempotencyToken")
            if state.latency:
                time.sleep(state.latency)
            injection = state.take_injection(operation)
            if injection and injection["kind"] == "fail":
                error = injection["error"]
                raise ApiError(error, rules.DEFAULT_MESSAGES.get(error, f"{error} (injected)"))
            if injection and not injection["after_action"]:
                self._drop(call)
                return
            answer, call["effective"] = state.execute(
                operation, call["account"], call["region"], params
            )
            call["status"], call["response"] = 200, answer
            if injection:  # drop after the action: AWS did it, the caller never hears
                self._drop(call)
                return
        except ApiError as error:
            call.update(status=error.status, response=error.body(), error_code=error.code)
            state.record_call(**call)  # before answering: a test may read the log right after
            self._send_error(error, request_id)
            return
        state.record_call(**call)
        self._send(200, answer, {"x-amzn-RequestId": request_id})

    def _params(self, raw: bytes, query: dict[str, str], name: str | None) -> dict[str, Any]:
        params: dict[str, Any] = dict(query)
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise ApiError(
                    "SerializationException", "The request body is not valid JSON."
                ) from None
            if not isinstance(body, dict):
                raise ApiError("SerializationException", "The request body must be a JSON object.")
            params.update(body)
        if name is not None:
            params["FrameworkName"] = name  # the URI wins over any body member of that name
        return params

    def _drop(self, call: dict[str, Any]) -> None:
        """Close the connection without an answer, as a lost response looks to the client."""
        call["dropped"] = True
        self.server.state.record_call(**call)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # --- run-time controls ----------------------------------------------------------------------

    def _control(self, method: str, action: str, raw: bytes) -> None:
        state = self.server.state
        try:
            args = json.loads(raw) if raw.strip() else {}
            if not isinstance(args, dict):
                raise ValueError("the body must be a JSON object")
            key = (method, action.strip("/"))
            if key == ("GET", "calls"):
                answer: Any = state.calls()
            elif key == ("DELETE", "calls"):
                state.clear_calls()
                answer = None
            elif key == ("GET", "state"):
                answer = state.dump()
            elif key == ("POST", "reset"):
                state.reset()
                answer = None
            elif key == ("POST", "fail_next"):
                state.fail_next(**args)
                answer = None
            elif key == ("POST", "drop_next"):
                state.drop_next(**args)
                answer = None
            elif key == ("POST", "latency"):
                state.set_latency(**args)
                answer = None
            elif key == ("POST", "fail_next_deployment"):
                state.fail_next_deployment(**args)
                answer = None
            elif key == ("POST", "finish_deployments"):
                state.finish_deployments(**args)
                answer = None
            elif key == ("POST", "configure"):
                answer = state.configure(**args)
            else:
                self._send(404, {"error": f"no control {method} /_emulator/{action}"}, {})
                return
        except (TypeError, ValueError) as error:
            self._send(400, {"error": str(error)}, {})
            return
        self._send(200, {"ok": True, "result": answer}, {})
