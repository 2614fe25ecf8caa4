"""Checks /v5 traffic against Pinterest's published OpenAPI 3.0 description.

Requests (path and query parameters, JSON or form bodies) and 2xx JSON responses are checked
with jsonschema after turning the OpenAPI dialect into plain JSON Schema: $refs inlined,
`nullable: true` made into "or null", readOnly/writeOnly/example/discriminator/xml dropped.
Checks run in a worker process after the answer has gone out, so a 250-pin page is not slowed
down; GET /_fake/violations answers once the worker has caught up with everything sent before.
"""

import json
import multiprocessing
import os
import queue
import re
import threading
from pathlib import Path
from urllib.parse import parse_qs

import jsonschema

SPEC_NAME = "openapi-v5.23.0.json"
DROPPED_KEYWORDS = {"nullable", "readOnly", "writeOnly", "example", "examples", "discriminator",
                    "xml", "externalDocs", "deprecated", "description", "title"}
SCHEMA_MAPS = ("properties", "patternProperties")          # values are schemas, keys are names
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
SCHEMA_VALUES = ("items", "not", "additionalProperties")
MAX_VIOLATIONS = 10000
MEMO_LIMIT = 200000


def find_spec():
    """$PINFS_OPENAPI when set (naming a missing file turns checking off), else the shared
    copy at ../shared/pinterest-api/ beside the repository; None when there is none."""
    candidate = os.environ.get("PINFS_OPENAPI") or \
        Path(__file__).resolve().parents[3] / "shared/pinterest-api" / SPEC_NAME
    return Path(candidate) if Path(candidate).is_file() else None


class SchemaConverter:
    """OpenAPI 3.0 schema -> self-contained JSON Schema (draft 4 semantics)."""

    def __init__(self, spec):
        self.spec = spec
        self.done = {}

    def resolve(self, ref):
        node = self.spec
        for part in ref.lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def convert(self, node, stack=()):
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"]
            if ref in stack:
                return {}   # a recursive schema: accept anything below the loop
            if ref not in self.done:
                self.done[ref] = self.convert(self.resolve(ref), stack + (ref,))
            return self.done[ref]
        out = {}
        for key, value in node.items():
            if key in DROPPED_KEYWORDS or key.startswith("x-"):
                continue
            if key in SCHEMA_MAPS:
                out[key] = {name: self.convert(sub, stack) for name, sub in value.items()}
            elif key in SCHEMA_LISTS:
                out[key] = [self.convert(sub, stack) for sub in value]
            elif key in SCHEMA_VALUES:
                out[key] = self.convert(value, stack)
            else:
                out[key] = value
        if node.get("nullable") is True:
            out = {"anyOf": [{"type": "null"}, out]}
        return out


def memoising_validator(memo):
    """Draft 4 validator whose `items` skips array items already found valid for that schema.

    Listings repeat the same pins over and over; remembering (schema, item) pairs that passed
    keeps the background checker far ahead of the traffic.
    """
    plain_items = jsonschema.Draft4Validator.VALIDATORS["items"]

    def items(validator, item_schema, instance, schema):
        if not isinstance(item_schema, dict) or not validator.is_type(instance, "array"):
            yield from plain_items(validator, item_schema, instance, schema)
            return
        for index, item in enumerate(instance):
            key = (id(item_schema), json.dumps(item, sort_keys=True))
            if key in memo:
                continue
            errors = list(validator.descend(item, item_schema, path=index))
            if errors:
                yield from errors
            else:
                if len(memo) > MEMO_LIMIT:
                    memo.clear()
                memo.add(key)

    return jsonschema.validators.extend(jsonschema.Draft4Validator, {"items": items})


def coerce(text, schema):
    """A query/path string as the scalar type the schema declares (ValueError if it is not)."""
    kind = schema.get("type")
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", text):
            raise ValueError(f"{text!r} is not an integer")
        return int(text)
    if kind == "number":
        return float(text)
    if kind == "boolean":
        if text not in ("true", "false"):
            raise ValueError(f"{text!r} is not a boolean")
        return text == "true"
    return text


LONG_STRING = 1 << 20  # far past every maxLength in the spec; a multiple of 4 (base64)


def shorten(value):
    """value with every string over LONG_STRING cut to that length: an upload's base64 image
    of tens of MiB would take the validator minutes, and no limit in the spec is that long."""
    if isinstance(value, str):
        return value[:LONG_STRING]
    if isinstance(value, dict):
        return {k: shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shorten(v) for v in value]
    return value


def describe(errors):
    parts = []
    for error in sorted(errors, key=lambda e: list(e.absolute_path))[:3]:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        parts.append(f"{where}: {error.message[:300]}")
    return "; ".join(parts)


class SpecChecker:
    def __init__(self, spec):
        self.spec = spec
        self.converter = SchemaConverter(spec)
        self.validator_class = memoising_validator(set())
        self.validators = {}

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f))

    def operation(self, method, template):
        """(operation, path-level parameters) or (None, [])."""
        item = self.spec["paths"].get(template)
        if not item or method.lower() not in item:
            return None, []
        return item[method.lower()], item.get("parameters", [])

    def _validator(self, schema):
        key = id(schema)
        if key not in self.validators:
            self.validators[key] = (schema, self.validator_class(self.converter.convert(schema)))
        return self.validators[key][1]

    def _validate(self, schema, instance):
        return describe(self._validator(schema).iter_errors(instance))

    def check_request(self, method, template, path_params, query_string, content_type, body):
        """Problems with a request, as a list of strings."""
        op, shared_params = self.operation(method, template)
        if op is None:
            return [f"no operation {method} {template} in the spec"]
        problems = self._check_parameters(shared_params + op.get("parameters", []), path_params, query_string)
        problems += self._check_body(op.get("requestBody"), content_type, body)
        return problems

    def _check_parameters(self, params, path_params, query_string):
        problems = []
        query = parse_qs(query_string, keep_blank_values=True)
        for param in params:
            param = self.converter.resolve(param["$ref"]) if "$ref" in param else param
            name, where, schema = param["name"], param["in"], param.get("schema", {})
            if where == "path":
                values = [path_params[name]] if name in path_params else []
            elif where == "query":
                values = query.get(name, [])
            else:
                continue   # headers and cookies are not checked
            if not values:
                if param.get("required"):
                    problems.append(f"missing required {where} parameter {name!r}")
                continue
            plain = self.converter.convert(schema)
            try:
                if plain.get("type") == "array":
                    items = plain.get("items", {})
                    value = [coerce(v, items) for raw in values for v in raw.split(",")]
                else:
                    value = coerce(values[-1], plain)
            except ValueError as exc:
                problems.append(f"{where} parameter {name!r}: {exc}")
                continue
            error = self._validate(schema, value)
            if error:
                problems.append(f"{where} parameter {name!r}: {error}")
        return problems

    def _check_body(self, request_body, content_type, body):
        if request_body is None:
            return ["the operation takes no request body"] if body else []
        if "$ref" in request_body:
            request_body = self.converter.resolve(request_body["$ref"])
        if not body:
            return ["request body is required"] if request_body.get("required") else []
        content = request_body.get("content", {})
        media = (content_type or "").split(";")[0].strip().lower()
        if media not in content:
            return [f"request Content-Type {content_type!r}, the spec wants {' or '.join(content)}"]
        if media == "application/x-www-form-urlencoded":
            instance = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        else:
            try:
                instance = shorten(json.loads(body))
            except ValueError as exc:
                return [f"request body is not JSON: {exc}"]
        error = self._validate(content[media].get("schema", {}), instance)
        return [f"request body: {error}"] if error else []

    def check_response(self, method, template, status, content_type, body):
        """Problems with a 2xx response, as a list of strings."""
        op, _ = self.operation(method, template)
        if op is None:
            return []   # already reported for the request
        declared = op.get("responses", {}).get(str(status))
        if declared is None:
            return [f"status {status} is not declared for {method} {template}"]
        if "$ref" in declared:
            declared = self.converter.resolve(declared["$ref"])
        content = declared.get("content")
        if not content:
            return ["the spec declares no body for this status"] if body else []
        media = (content_type or "").split(";")[0].strip().lower()
        if media not in content:
            return [f"response Content-Type {content_type!r}, the spec says {' or '.join(content)}"]
        try:
            instance = json.loads(body)
        except ValueError as exc:
            return [f"response body is not JSON: {exc}"]
        error = self._validate(content[media].get("schema", {}), instance)
        return [f"response body: {error}"] if error else []


class Violations:
    """Runs the checks in a forked worker process and keeps what they find there.

    A separate process has its own GIL: checking a new 250-pin page costs ~100 ms of CPU,
    which in a thread would slow the answers the benchmarks time.
    """

    def __init__(self, spec_path):
        self.spec_path = spec_path
        self.lock = threading.Lock()
        if spec_path:
            # Forked before the server starts any thread (see server.App).
            context = multiprocessing.get_context("fork")
            self.inbox, self.outbox = context.Queue(), context.Queue()
            self.inbox.cancel_join_thread()   # never hang the server's exit on unsent checks
            context.Process(target=worker, args=(spec_path, self.inbox, self.outbox, os.getpid()),
                            name="openapi-check", daemon=True).start()

    def submit(self, exchange):
        """`exchange`: dict with method, route, template, path, params, query, request/response parts."""
        if self.spec_path:
            self.inbox.put(("check", exchange))

    def _ask(self, command):
        with self.lock:   # one question at a time, so answers pair up with questions
            self.inbox.put((command, None))
            return self.outbox.get(timeout=300)

    def report(self):
        if not self.spec_path:
            return {"violations": [], "disabled": True}
        return {"violations": self._ask("report")}

    def reset(self):
        if self.spec_path:
            self._ask("reset")


def worker(spec_path, inbox, outbox, parent_pid):
    """The checking process: exchanges in, violation lists out when asked (queue order kept)."""
    checker = SpecChecker.load(spec_path)
    found = []
    while os.getppid() == parent_pid:   # a killed server must not leave this process behind
        try:
            command, exchange = inbox.get(timeout=1)
        except queue.Empty:
            continue
        if command == "check":
            for where, problem in check_exchange(checker, exchange):
                if len(found) < MAX_VIOLATIONS:
                    found.append({"method": exchange["method"], "route": exchange["route"],
                                  "path": exchange["path"], "status": exchange["status"],
                                  "where": where, "error": problem})
        elif command == "report":
            outbox.put(list(found))
        elif command == "reset":
            found.clear()
            outbox.put([])


def check_exchange(checker, x):
    """(where, problem) pairs for one request and its answer; a checker bug is reported, not fatal."""
    try:
        problems = [("request", p) for p in checker.check_request(
            x["method"], x["template"], x["params"], x["query"], x["request_type"], x["request_body"])]
        if x["check_response"] and 200 <= (x["status"] or 0) < 300:
            problems += [("response", p) for p in checker.check_response(
                x["method"], x["template"], x["status"], x["response_type"], x["response_body"])]
        return problems
    except Exception as exc:
        return [("request", f"checker failed: {exc!r}")]
