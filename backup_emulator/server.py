"""HTTP front of the emulator: three AWS wire protocols on one port.

* **Backup** (REST-JSON, botocore's ``backup`` model): the five framework operations and the three
  tag operations, routed by method and path.
* **STS** (Query: form-encoded POST, XML answers; ``sts.py``): AssumeRole and GetCallerIdentity.
  A request is STS's when its SigV4 scope names the service ``sts`` (``.../sts/aws4_request``), or
  when it is a form-encoded POST with ``Action=``.
* **AWS Config** (JSON 1.1, ``X-Amz-Target: StarlingDoveService.<Operation>``;
  ``configservice.py``): DescribeConfigurationRecorders and DescribeConfigurationRecorderStatus.

For every call the access key id in the SigV4 credential scope says who calls (``identity.py``:
an account id, or temporary credentials from AssumeRole, which must come with their session token
and must not have expired) and the scope's Region where; signatures are not verified. Then
injected faults and latency (Backup only) apply, ``State`` answers, the call is logged and the
answer written the way AWS does: ``x-amzn-RequestId`` on every answer; Backup errors with
``x-amzn-ErrorType`` and a JSON body. Run-time controls for tests live under ``/_emulator/`` (see
``control.py`` for the client).

Each call-log entry (``GET /_emulator/calls``) has: seq, time, service (backup/sts/config),
account, region, principal (the caller's ARN), operation, framework_name, resource_arn (tag
operations), idempotency_token, request, status, response, error_code, effective (the call
changed the model), dropped, request_id.

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

from . import configservice, rules, sts
from .identity import Principal
from .rules import ApiError
from .state import CONFIG_OPERATIONS, State

ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazonaws.backup/"
CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[0-9]{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
COLLECTION = "/audit/frameworks"
TAG_ROUTES = {
    ("GET", "/tags/"): ("ListTags", "/"),
    ("POST", "/tags/"): ("TagResource", ""),
    ("POST", "/untag/"): ("UntagResource", ""),
}


def route_tags(method: str, raw_path: str) -> tuple[str, str] | None:
    """(operation, resource ARN) for a tag request, from the path before percent-decoding (an
    ARN is one path segment: botocore encodes its colons and slashes)."""
    for (verb, prefix), (operation, suffix) in TAG_ROUTES.items():
        if method != verb or not raw_path.startswith(prefix):
            continue
        rest = raw_path[len(prefix) :]
        if suffix:
            if not rest.endswith(suffix):
                continue
            rest = rest[: -len(suffix)]
        if rest and "/" not in rest:
            return operation, unquote(rest)
    return None


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


def signed_service(authorization: str | None) -> str | None:
    """The service a SigV4 Authorization header is scoped to, if it has a scope."""
    match = CREDENTIAL.search(authorization or "")
    return match.group(3) if match else None


def credential(authorization: str | None) -> tuple[str, str]:
    """(access key id, Region) from a SigV4 Authorization header."""
    if not authorization:
        raise ApiError("MissingAuthenticationTokenException", "Missing Authentication Token")
    match = CREDENTIAL.search(authorization)
    if match is None:
        raise ApiError(
            "IncompleteSignatureException",
            "Authorization header requires Credential=AKID/DATE/REGION/SERVICE/aws4_request.",
        )
    return match.group(1), match.group(2)


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

    def _send(
        self,
        status: int,
        body: dict[str, Any] | bytes | None,
        headers: dict[str, str],
        content_type: str = "application/json",
    ) -> None:
        if isinstance(body, bytes):
            payload = body
        else:
            payload = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
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
        authorization = self.headers.get("Authorization")
        target = self.headers.get("X-Amz-Target") or ""
        if split.path.startswith("/_emulator/"):
            self._control(self.command, split.path[len("/_emulator/") :], raw)
        elif target.startswith(configservice.TARGET_PREFIX):
            self._config(target[len(configservice.TARGET_PREFIX) :], raw)
        elif signed_service(authorization) == "sts" or sts.is_query_request(
            self.command, self.headers.get("Content-Type"), raw
        ):
            self._sts(raw)
        else:
            self._api(split.path, split.query, raw)

    def _new_call(self, service: str, request: dict[str, Any]) -> dict[str, Any]:
        return {
            "service": service,
            "account": None,
            "region": None,
            "principal": None,
            "operation": None,
            "framework_name": None,
            "resource_arn": None,
            "idempotency_token": None,
            "request": request,
            "status": None,
            "response": None,
            "error_code": None,
            "effective": False,
            "dropped": False,
            "request_id": str(uuid.uuid4()),
        }

    def _identify(self, call: dict[str, Any]) -> Principal:
        """Who signed the request, into the call log; raises the credential errors."""
        access_key, call["region"] = credential(self.headers.get("Authorization"))
        principal = self.server.state.resolve(access_key, self.headers.get("X-Amz-Security-Token"))
        call["account"], call["principal"] = principal.account, principal.arn
        return principal

    def _injected(self, operation: str) -> dict[str, Any] | None:
        """The fault injected for this operation, raised when it is an error."""
        injection = self.server.state.take_injection(operation)
        if injection and injection["kind"] == "fail":
            error = injection["error"]
            raise ApiError(error, rules.DEFAULT_MESSAGES.get(error, f"{error} (injected)"))
        return injection

    # --- AWS Backup (REST-JSON) -----------------------------------------------------------------

    def _api(self, path: str, query: str, raw: bytes) -> None:
        state = self.server.state
        query_params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        call = self._new_call("backup", dict(query_params))
        request_id = call["request_id"]
        try:
            tag_route = route_tags(self.command, path)
            matched = route(self.command, path) if tag_route is None else (tag_route[0], None)
            if matched is None:
                raise ApiError(
                    "UnknownOperationException", f"No operation for {self.command} {path}"
                )
            operation, name = matched
            call.update(operation=operation, framework_name=name)
            principal = self._identify(call)
            params = self._params(raw, query_params, name)
            if tag_route is not None:
                params["ResourceArn"] = call["resource_arn"] = tag_route[1]
                call["framework_name"] = state.framework_name_of(tag_route[1])
            call["request"] = params
            call["idempotency_token"] = params.get("IdempotencyToken")
            if state.latency:
                time.sleep(state.latency)
            injection = self._injected(operation)
            if injection and not injection["after_action"]:
                self._drop(call)
                return
            answer, call["effective"] = state.execute(
                operation, call["account"], call["region"], params, principal
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

    # --- STS (Query protocol, XML) --------------------------------------------------------------

    def _sts(self, raw: bytes) -> None:
        state = self.server.state
        form = sts.parse_form(raw)
        call = self._new_call(
            "sts", {k: v for k, v in form.items() if k not in ("Action", "Version")}
        )
        request_id = call["request_id"]
        action = form.get("Action", "")
        call["operation"] = action or None
        try:
            if action not in sts.OPERATIONS:
                raise ApiError(
                    "InvalidAction", f"Could not find operation {action} for version {sts.VERSION}"
                )
            principal = self._identify(call)
            injection = self._injected(action)
            if injection and not injection["after_action"]:
                self._drop(call)
                return
            if action == "AssumeRole":
                session = state.assume_role(principal, form)
                result = sts.assume_role_result(session)
                call["effective"] = True
                # The log keeps who got which key, never the secret or the token.
                call["response"] = {
                    "AccessKeyId": session.access_key,
                    "Arn": session.arn,
                    "Account": session.account,
                    "Expiration": session.expiration,
                }
            else:
                result = sts.caller_identity_result(principal)
                call["response"] = result
            call["status"] = 200
            if injection:
                self._drop(call)
                return
        except ApiError as error:
            code = sts.QUERY_CODES.get(error.code, error.code)
            status = rules.error_status(code)
            call.update(status=status, response={"Code": code, "Message": error.message})
            call["error_code"] = code
            state.record_call(**call)
            body = sts.error(code, error.message, request_id, sender=status < 500)
            self._send(status, body, {"x-amzn-RequestId": request_id}, "text/xml")
            return
        state.record_call(**call)
        body = sts.response(action, result, request_id)
        self._send(200, body, {"x-amzn-RequestId": request_id}, "text/xml")

    # --- AWS Config (JSON 1.1) ------------------------------------------------------------------

    def _config(self, operation: str, raw: bytes) -> None:
        state = self.server.state
        call = self._new_call("config", {})
        request_id = call["request_id"]
        call["operation"] = operation
        try:
            if operation not in CONFIG_OPERATIONS:
                raise ApiError("UnknownOperationException", f"Unknown operation {operation}")
            self._identify(call)
            params = self._params(raw, {}, None)
            call["request"] = params
            if self._injected(operation):  # a drop: reads have nothing to do before or after
                self._drop(call)
                return
            recording = state.recording_of(call["account"], call["region"])
            answer = configservice.answer(
                operation, recording, call["account"], call["region"], params
            )
            call["status"], call["response"] = 200, answer
        except ApiError as error:
            body = configservice.error_body(error)
            call.update(status=error.status, response=body, error_code=error.code)
            state.record_call(**call)
            self._send(
                error.status, body, {"x-amzn-RequestId": request_id}, configservice.CONTENT_TYPE
            )
            return
        state.record_call(**call)
        self._send(200, answer, {"x-amzn-RequestId": request_id}, configservice.CONTENT_TYPE)

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
            elif key == ("POST", "reset_faults"):
                state.reset_faults()
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
            elif key == ("POST", "advance_clock"):
                answer = state.advance_clock(**args)
            elif key == ("GET", "roles"):
                answer = state.list_roles()
            elif key == ("POST", "roles"):
                answer = state.put_role(**args)
            elif key == ("DELETE", "roles"):
                state.delete_role(**args)
                answer = None
            elif key == ("GET", "recording"):
                answer = state.list_recordings()
            elif key == ("POST", "recording"):
                answer = state.set_recording(**args)
            elif key == ("GET", "sessions"):
                answer = state.sessions_dump()
            else:
                self._send(404, {"error": f"no control {method} /_emulator/{action}"}, {})
                return
        except (TypeError, ValueError) as error:
            self._send(400, {"error": str(error)}, {})
            return
        self._send(200, {"ok": True, "result": answer}, {})
