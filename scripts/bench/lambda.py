#!/usr/bin/env python3
"""Lambda-mode benchmark helper (standard library only); run by scripts/bench/lambda.sh.

Starts each function's release binary the way the Lambda base image does (no argument,
`_HANDLER` from Terraform's `image_config.command`, else the Dockerfile's CMD) with
`AWS_LAMBDA_RUNTIME_API` pointing at a minimal Runtime API stand-in on loopback (below), and
measures, per cold start: init (exec -> first GET /next), the first invoke, warm invokes
(p50/p99) and peak RSS (VmHWM). A hello-world `lambda_http` function built in the same run is
measured the same way, interleaved with the others, and every figure is also given as a ratio
to it.

Invoke latency = from the moment the stand-in has written the event in answer to GET /next to
the moment it has read the function's POST .../response (or .../error). The stand-in's own
Python HTTP handling is inside that interval for every function alike, the hello-world one
included: compare with it, not with AWS's figures.

usage: bench_lambda.py --repo R --release DIR --hello BIN --stack-env FILE --out FILE|'' ...
"""

import argparse
import base64
import datetime
import http.server
import json
import os
import queue
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid

PREFIX = "/2018-06-01/runtime"


def log(msg):
    print(f"bench_lambda: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- Runtime API stand-in


class RuntimeApi:
    """GET /next hands one queued event; POST .../response or .../error takes the answer."""

    def __init__(self):
        self.events = queue.Queue()
        self.answers = {}  # id -> (kind, body bytes, t_answer_ns)
        self.sent = {}  # id -> t_event_written_ns
        self.cond = threading.Condition()
        self.first_poll_ns = None
        self.init_error = None
        self.stopping = False
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)
                self.wfile.flush()

            def do_GET(self):
                if self.path == "/2020-01-01/extension/event/next":
                    # An extension's wait for its next event: none comes before the process is
                    # killed (the benchmark sends no SHUTDOWN).
                    while not api.stopping:
                        time.sleep(0.5)
                    self.close_connection = True
                    return
                if self.path != PREFIX + "/invocation/next":
                    return self._reply(404)
                now = time.perf_counter_ns()
                with api.cond:
                    if api.first_poll_ns is None:
                        api.first_poll_ns = now
                        api.cond.notify_all()
                while True:
                    try:
                        rid, body = api.events.get(timeout=0.5)
                        break
                    except queue.Empty:
                        if api.stopping:
                            self.close_connection = True
                            return
                deadline = int(time.time() * 1000) + 30_000
                self._reply(
                    200,
                    body,
                    [
                        ("Content-Type", "application/json"),
                        ("Lambda-Runtime-Aws-Request-Id", rid),
                        ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                        (
                            "Lambda-Runtime-Invoked-Function-Arn",
                            "arn:aws:lambda:us-east-1:123456789012:function:bench",
                        ),
                        (
                            "Lambda-Runtime-Trace-Id",
                            "Root=1-00000000-000000000000000000000000;Sampled=0",
                        ),
                    ],
                )
                t = time.perf_counter_ns()
                with api.cond:
                    api.sent[rid] = t

            def do_POST(self):
                t = time.perf_counter_ns()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.path == "/2020-01-01/extension/register":
                    # The functions register lambda_runtime's no-op extension to get SIGTERM in
                    # Lambda's shutdown phase (the Extensions API): one round trip of init.
                    return self._reply(
                        200,
                        b'{"functionName":"bench","functionVersion":"$LATEST","handler":"bootstrap"}',
                        [("Lambda-Extension-Identifier", "bench-extension")],
                    )
                m = re.fullmatch(PREFIX + r"/invocation/([^/]+)/(response|error)", self.path)
                if m:
                    with api.cond:
                        api.answers[m.group(1)] = (m.group(2), body, t)
                        api.cond.notify_all()
                    return self._reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])
                if self.path == PREFIX + "/init/error":
                    with api.cond:
                        api.init_error = body
                        api.cond.notify_all()
                    return self._reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])
                self._reply(404)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # A function killed at the end of a cold start leaves its connections broken.
                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

            def server_bind(self):
                self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                super().server_bind()

        self.server = Server(("127.0.0.1", 0), Handler)
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def queue_event(self, event):
        rid = str(uuid.uuid4())
        self.events.put((rid, json.dumps(event).encode()))
        return rid

    def wait_answer(self, rid, timeout, proc=None):
        """(kind, body, latency_ns) of invocation rid."""
        end = time.monotonic() + timeout
        with self.cond:
            while rid not in self.answers:
                if self.init_error is not None:
                    raise RuntimeError(f"init error: {self.init_error[:500]!r}")
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"the function exited ({proc.returncode})")
                left = end - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"no answer within {timeout} s")
                self.cond.wait(min(left, 0.5))
            kind, body, t = self.answers.pop(rid)
            return kind, body, t - self.sent.pop(rid)

    def wait_first_poll(self, timeout, proc):
        end = time.monotonic() + timeout
        with self.cond:
            while self.first_poll_ns is None:
                if self.init_error is not None:
                    raise RuntimeError(f"init error: {self.init_error[:500]!r}")
                if proc.poll() is not None:
                    raise RuntimeError(f"the function exited during init ({proc.returncode})")
                left = end - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"no GET /next within {timeout} s")
                self.cond.wait(min(left, 0.2))
            return self.first_poll_ns

    def close(self):
        self.stopping = True
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- functions


def stack_env(path):
    env = {}
    pat = re.compile(r"^export ([A-Z_][A-Z0-9_]*)='(.*)'$")
    with open(path) as f:
        for line in f:
            m = pat.match(line.rstrip("\n"))
            if m:
                env[m.group(1)] = m.group(2)
    return env


def image_entrypoint(repo, function):
    """(crate, _HANDLER) as crates/testkit/src/runtime_api.rs's image_entrypoint()."""
    with open(os.path.join(repo, "terraform/modules/lambdas/main.tf")) as f:
        line = next(
            (l.strip() for l in f if l.strip().startswith(function + " ") and "crate =" in l),
            None,
        )
    if line is None:
        raise SystemExit(f"{function} is not in the lambdas module's functions map")
    krate = re.search(r'crate\s*=\s*"([^"]+)"', line).group(1)
    command = re.search(r"command\s*=\s*(null|\[[^\]]*\])", line).group(1)
    if command == "null":
        with open(os.path.join(repo, "docker/Dockerfile")) as f:
            lines = f.read().splitlines()
        if any(l.strip().startswith("ENTRYPOINT") for l in lines):
            raise SystemExit("the Dockerfile sets its own ENTRYPOINT: this models the base image's")
        cmd = next(l.strip()[4:] for l in reversed(lines) if l.strip().startswith("CMD "))
        handler = json.loads(cmd)[0]
    else:
        args = json.loads(command)
        assert len(args) == 1, args
        handler = args[0]
    return krate, handler


class Function:
    def __init__(self, binary, handler, base_env):
        self.binary = binary
        self.handler = handler
        self.base_env = base_env
        self.api = None
        self.proc = None

    def start(self, first_event=None):
        self.api = RuntimeApi()
        env = dict(self.base_env)
        env.update(
            {
                "AWS_LAMBDA_RUNTIME_API": self.api.address,
                "AWS_LAMBDA_FUNCTION_NAME": "bench",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
                "AWS_LAMBDA_LOG_GROUP_NAME": "bench",
                "RUST_LOG": "warn",
            }
        )
        if self.handler is not None:
            env["_HANDLER"] = self.handler
        first = self.api.queue_event(first_event) if first_event is not None else None
        self.stderr = open(os.path.join(WORK, "stderr.log"), "ab")
        t0 = time.perf_counter_ns()
        self.proc = subprocess.Popen(
            [self.binary], env=env, stdout=subprocess.DEVNULL, stderr=self.stderr, close_fds=True
        )
        return t0, first

    def invoke(self, event, timeout=30):
        rid = self.api.queue_event(event)
        return self.api.wait_answer(rid, timeout, self.proc)

    def vm_hwm_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.api:
            self.api.close()
        if getattr(self, "stderr", None):
            self.stderr.close()
        self.proc = self.api = None


# --------------------------------------------------------------------------- events


def apigw_v2_event(method, path, body=None, claims=None, token=None):
    """crates/testkit/src/lambda.rs's apigw_v2_event, plus an optional bearer header."""
    raw_path, _, raw_query = path.partition("?")
    headers = {
        "accept": "application/json",
        "host": "abc123.execute-api.us-east-1.amazonaws.com",
        "x-forwarded-proto": "https",
    }
    if body is not None:
        headers["content-type"] = "application/json"
    if token:
        headers["authorization"] = f"Bearer {token}"
    event = {
        "version": "2.0",
        "routeKey": f"{method} {raw_path}",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "bench",
            },
            "requestId": "apigw-" + uuid.uuid4().hex,
            "routeKey": f"{method} {raw_path}",
            "stage": "$default",
            "time": "28/Nov/2026:10:15:00 +0000",
            "timeEpoch": 1_795_862_100_000,
        },
        "isBase64Encoded": False,
    }
    if raw_query:
        event["queryStringParameters"] = dict(
            kv.split("=", 1) for kv in raw_query.split("&") if "=" in kv
        )
    if body is not None:
        event["body"] = json.dumps(body)
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return event


def claims_of(token):
    """The claims API Gateway's JWT authorizer passes (as strings), as testkit's claims_of."""
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    claims = json.loads(base64.urlsafe_b64decode(payload))
    out = {}
    for k, v in claims.items():
        if isinstance(v, str):
            out[k] = v
        elif isinstance(v, list):
            out[k] = "[" + " ".join(i for i in v if isinstance(i, str)) + "]"
        else:
            out[k] = json.dumps(v)
    return out


def sqs_task_event(queue_arn):
    """One SQS batch: a checkout task message whose task token no workflow waits for."""
    body = {
        "task": "confirm",
        "order_id": 999_999_999,
        "task_token": "stale-" + uuid.uuid4().hex,
        "correlation_id": "bench-lambda",
    }
    now = str(int(time.time() * 1000))
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "bench-" + uuid.uuid4().hex,
                "body": json.dumps(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": now,
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": now,
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
        ]
    }


def s3_upload_event(template, bucket, key, size, queue_arn):
    """The repo's sample image event (events/image_processor/object_created.json: S3 → SNS →
    SQS) for one uploaded object."""
    event = json.loads(template)
    record = event["Records"][0]
    note = json.loads(record["body"])
    s3_event = json.loads(note["Message"])
    s3 = s3_event["Records"][0]
    s3["eventTime"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    s3["s3"]["bucket"]["name"] = bucket
    s3["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
    s3["s3"]["object"]["key"] = key
    s3["s3"]["object"]["size"] = size
    note["Message"] = json.dumps(s3_event)
    note["MessageId"] = str(uuid.uuid4())
    record["body"] = json.dumps(note)
    record["messageId"] = str(uuid.uuid4())
    record["receiptHandle"] = "bench-" + uuid.uuid4().hex
    record["eventSourceARN"] = queue_arn
    return event


def http_answer(kind, body):
    if kind != "response":
        raise RuntimeError(f"the function answered an error: {body[:500]!r}")
    answer = json.loads(body)
    status = answer.get("statusCode")
    text = answer.get("body") or ""
    if answer.get("isBase64Encoded"):
        text = base64.b64decode(text).decode()
    try:
        payload = json.loads(text) if text else None
    except ValueError:
        payload = text
    return status, payload


def call(fn, event, expect=(200, 201)):
    kind, body, _ = fn.invoke(event)
    status, payload = http_answer(kind, body)
    if status not in expect:
        raise RuntimeError(f"{event['routeKey']}: {status} {payload}")
    return payload


# --------------------------------------------------------------------------- measurement


def pct(values, p):
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def check_http(kind, body):
    status, payload = http_answer(kind, body)
    if status != 200:
        raise RuntimeError(f"status {status}: {payload}")


def check_sqs(kind, body):
    if kind != "response":
        raise RuntimeError(f"the worker answered an error: {body[:500]!r}")
    answer = json.loads(body) if body else {}
    if answer.get("batchItemFailures"):
        raise RuntimeError(f"the worker failed the message: {answer}")


def cold_start(spec, base_env, events, timeout):
    fn = Function(spec["binary"], spec["handler"], base_env)
    try:
        t_exec, first = fn.start(spec["event"]())
        t_poll = fn.api.wait_first_poll(timeout, fn.proc)
        kind, body, first_ns = fn.api.wait_answer(first, timeout, fn.proc)
        spec["check"](kind, body)
        warm = []
        for _ in range(events):
            kind, body, ns = fn.invoke(spec["event"](), timeout)
            spec["check"](kind, body)
            warm.append(ns)
        hwm = fn.vm_hwm_kib()
    finally:
        fn.stop()
    return {
        "init_ms": (t_poll - t_exec) / 1e6,
        "first_ms": first_ns / 1e6,
        "p50_ms": pct(warm, 50) / 1e6,
        "p99_ms": pct(warm, 99) / 1e6,
        "hwm_kib": hwm,
    }


WORK = "/tmp"


def main():
    global WORK
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--release", required=True)
    ap.add_argument("--hello", required=True)
    ap.add_argument("--stack-env", required=True)
    ap.add_argument("--out", default="")
    ap.add_argument("--work", required=True)
    ap.add_argument("--functions", default="users products listing cart orders worker images")
    ap.add_argument("--cold", type=int, default=5)
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--worker-events", type=int, default=200)
    ap.add_argument("--image-events", type=int, default=10)
    ap.add_argument("--jpeg", default="", help="the photo the image processor's events upload")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--command", default="scripts/bench/lambda.sh")
    ap.add_argument("--hello-path", default="/hello", help="the route the hello-world event asks for")
    args = ap.parse_args()
    WORK = args.work

    env_all = stack_env(args.stack_env)
    base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for k, v in env_all.items():
        if k.startswith("AWS_LAMBDA") or k in ("PATH", "RUST_LOG"):
            continue
        base_env[k] = v

    def binary_for(function):
        krate, handler = image_entrypoint(args.repo, function)
        path = os.path.join(args.release, krate)
        if not os.access(path, os.X_OK):
            raise SystemExit(f"missing {path}")
        return path, handler, krate

    # ------------------------------------------------------------------ fixtures
    stamp = f"{int(time.time())}-{os.getpid()}"
    email = f"lambda-bench-{stamp}@example.com"
    password = "Bench-Passw0rd!"
    users_bin, users_handler, _ = binary_for("api_users_lambda")
    products_bin, products_handler, _ = binary_for("api_products_lambda")
    cart_bin, cart_handler, _ = binary_for("api_cart_lambda")

    fx = Function(users_bin, users_handler, base_env)
    try:
        fx.start()
        call(fx, apigw_v2_event("POST", "/v1/users/register",
                                {"name": "Lambda Bench", "email": email, "password": password}))
        token = call(fx, apigw_v2_event("POST", "/v1/users/login",
                                        {"email": email, "password": password}))["access_token"]
        admin_token = call(fx, apigw_v2_event(
            "POST", "/v1/users/login",
            {"email": env_all["LOCAL_ADMIN_EMAIL"], "password": env_all["LOCAL_ADMIN_PASSWORD"]},
        ))["access_token"]
    finally:
        fx.stop()
    claims, admin_claims = claims_of(token), claims_of(admin_token)

    fx = Function(products_bin, products_handler, base_env)
    try:
        fx.start()
        product = call(fx, apigw_v2_event(
            "POST", "/v1/products",
            {"sku": f"LAMBDA-{stamp}", "name": "Lambda benchmark product", "price": "12.50",
             "stock": 100},
            admin_claims, admin_token))
        product_id = product["product_id"]
        # The image processor's uploads go to a product of their own: a processed image changes
        # its product, which would drop the measured product's cached entry between runs.
        images_product_id = call(fx, apigw_v2_event(
            "POST", "/v1/products",
            {"sku": f"LAMBDA-IMAGES-{stamp}", "name": "Lambda benchmark images", "price": "1.00",
             "stock": 1},
            admin_claims, admin_token))["product_id"]
    finally:
        fx.stop()

    fx = Function(cart_bin, cart_handler, base_env)
    try:
        fx.start()
        call(fx, apigw_v2_event("POST", "/v1/cart/items", {"product_id": product_id, "quantity": 1},
                                claims, token))
    finally:
        fx.stop()
    log(f"fixtures: product {product_id}, customer {email} with it in their cart")

    # ------------------------------------------------------------------ what is measured
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:" + env_all["CHECKOUT_TASK_QUEUE_URL"].rsplit("/", 1)[1]
    functions = args.functions.split()
    uploader, uploads = None, []
    if "images" in functions:
        # Each image event is a new upload: a presigned PUT from the products function, the
        # photo sent to it, and the S3 → SNS → SQS record of that object (not timed: the
        # function waits for its next event meanwhile).
        if not args.jpeg:
            raise SystemExit("--jpeg is required for the image processor")
        with open(args.jpeg, "rb") as f:
            photo = f.read()
        with open(os.path.join(args.repo, "events/image_processor/object_created.json")) as f:
            image_template = f.read()
        image_queue_arn = "arn:aws:sqs:us-east-1:123456789012:" + env_all["IMAGE_QUEUE_URL"].rsplit("/", 1)[1]
        bucket = env_all["IMAGES_BUCKET"]
        uploader = Function(products_bin, products_handler, base_env)
        uploader.start()

        def image_event():
            view = call(uploader, apigw_v2_event(
                "POST", f"/v1/products/{images_product_id}/images",
                {"content_type": "image/jpeg", "content_length": len(photo)},
                admin_claims, admin_token))
            put = urllib.request.Request(view["url"], data=photo, method="PUT", headers=view["headers"])
            with urllib.request.urlopen(put, timeout=30) as answer:
                answer.read()
            path = urllib.parse.unquote(urllib.parse.urlparse(view["url"]).path)
            key = path.split(f"/{bucket}/", 1)[1] if f"/{bucket}/" in path else path.lstrip("/")
            uploads.append(view["image_id"])
            return s3_upload_event(image_template, bucket, key, len(photo), image_queue_arn)
    else:
        image_event = None
    route = {
        "users": ("api_users_lambda", "GET /v1/users/me", lambda: apigw_v2_event("GET", "/v1/users/me", None, claims, token)),
        "products": ("api_products_lambda", f"GET /v1/products/{{id}} (cached)",
                     lambda: apigw_v2_event("GET", f"/v1/products/{product_id}")),
        "cart": ("api_cart_lambda", "GET /v1/cart (1 line)", lambda: apigw_v2_event("GET", "/v1/cart", None, claims, token)),
        "orders": ("api_orders_lambda", "GET /v1/orders", lambda: apigw_v2_event("GET", "/v1/orders", None, claims, token)),
        "worker": ("checkout_worker_lambda", "SQS batch: 1 checkout task, stale token", lambda: sqs_task_event(queue_arn)),
        "listing": ("api_products_lambda", "GET /v1/products?limit=20",
                    lambda: apigw_v2_event("GET", "/v1/products?limit=20")),
        "images": ("image_processing_lambda", "SQS batch: 1 upload of a 12 MP JPEG (2 thumbnails)", image_event),
    }
    specs = [{
        "name": "hello-world `lambda_http`", "function": "(same profile)", "binary": args.hello,
        "handler": None, "what": "GET /hello", "http": True, "events": args.events,
        "event": lambda: apigw_v2_event("GET", args.hello_path), "check": check_http,
    }]
    queues = {"worker": args.worker_events, "images": args.image_events}
    for key in functions:
        function, what, event = route[key]
        path, handler, krate = binary_for(function)
        name = f"`{krate}`" + (f" (`_HANDLER={handler}`)" if handler != "bootstrap" else "")
        if key == "listing":
            name += " listing"
        specs.append({
            "name": name,
            "function": function, "binary": path, "handler": handler, "what": what,
            "http": key not in queues, "key": key,
            "events": queues.get(key, args.events),
            "event": event, "check": check_http if key not in queues else check_sqs,
        })

    # One discarded cold start each (page cache, first connections of the stack).
    for spec in specs:
        cold_start(spec, base_env, 10, args.timeout)
    runs = {spec["name"]: [] for spec in specs}
    for i in range(args.cold):
        for spec in specs:
            r = cold_start(spec, base_env, spec["events"], args.timeout)
            runs[spec["name"]].append(r)
            log(f"run {i + 1}/{args.cold} {spec['name']}: init {r['init_ms']:.2f} ms, first "
                f"{r['first_ms']:.2f} ms, warm p50 {r['p50_ms']:.3f} / p99 {r['p99_ms']:.3f} ms, "
                f"VmHWM {r['hwm_kib'] / 1024:.1f} MiB")

    if uploader is not None:
        # Every upload the image processor was handed must have become thumbnails (an event
        # it dropped or failed would have measured nothing).
        listed = call(uploader, apigw_v2_event("GET", f"/v1/products/{images_product_id}/images"))
        uploader.stop()
        status = {item["image_id"]: item["status"] for item in listed["items"]}
        done = [i for i in uploads if status.get(i) == "processed"]
        log(f"image processor: {len(done)} of {len(uploads)} uploads processed")
        if len(done) != len(uploads):
            raise RuntimeError(f"uploads not processed: { {i: status.get(i) for i in uploads if i not in done} }")

    # ------------------------------------------------------------------ report
    def med(name, key):
        return statistics.median(r[key] for r in runs[name])

    hello = specs[0]["name"]
    h_init, h_first = med(hello, "init_ms"), med(hello, "first_ms")
    h_sum = statistics.median(r["init_ms"] + r["first_ms"] for r in runs[hello])
    h_p50, h_p99, h_hwm = med(hello, "p50_ms"), med(hello, "p99_ms"), med(hello, "hwm_kib")

    rows = []
    rows.append("| function (release, started as the image starts it) | event | init: exec → first `GET /next`, median (min–max) | first invoke | init + first invoke | × hello | warm p50 / p99 | Δ p50 / p99 vs hello | peak RSS (VmHWM) |")
    rows.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    verdicts = []
    for spec in specs:
        n = spec["name"]
        inits = [r["init_ms"] for r in runs[n]]
        total = statistics.median(r["init_ms"] + r["first_ms"] for r in runs[n])
        p50, p99 = med(n, "p50_ms"), med(n, "p99_ms")
        is_hello = n == hello
        rows.append(
            f"| {n} | {spec['what']} | {med(n, 'init_ms'):.2f} ms ({min(inits):.2f}–{max(inits):.2f}) "
            f"| {med(n, 'first_ms'):.2f} ms | {total:.2f} ms | "
            + ("1×" if is_hello else f"{total / h_sum:.1f}×")
            + f" | {p50:.3f} / {p99:.3f} ms | "
            + ("–" if is_hello else f"{p50 - h_p50:+.3f} / {p99 - h_p99:+.3f} ms")
            + f" | {med(n, 'hwm_kib') / 1024:.1f} MiB |"
        )
        if spec.get("http"):
            if not is_hello:
                ratio = total / h_sum
                verdicts.append((f"{n}: init + first invoke ≤ 3× hello", ratio <= 3, f"{ratio:.1f}×"))
        if spec.get("key") == "products":
            verdicts.append(("products cached read p50 within 0.1 ms of hello", p50 - h_p50 <= 0.1, f"{p50 - h_p50:+.3f} ms"))
            verdicts.append(("products cached read p99 within 0.2 ms of hello", p99 - h_p99 <= 0.2, f"{p99 - h_p99:+.3f} ms"))

    target_rows = ["| target (issue 22) | this run | met |", "| --- | ---: | --- |"]
    for what, ok, figure in verdicts:
        target_rows.append(f"| {what} | {figure} | {'yes' if ok else '**no**'} |")

    commit = subprocess.run(["git", "-C", args.repo, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", args.repo, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpus = os.cpu_count()
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    head = [
        f"Measured {date} on this {cpus}-core machine, commit `{commit}`"
        + (" (with uncommitted changes)" if dirty else "")
        + f", command `{args.command}`: {args.cold} cold starts per function (after one discarded),"
        f" interleaved; {args.events} warm events per cold start ({args.worker_events} for the"
        " worker); medians over the cold starts (warm p50/p99: median of the per-start"
        " percentiles). Local stack on loopback, `RUST_LOG=warn`. Load average at the end (1/5/15"
        f" min): {load}.",
        "",
    ]
    per_run = ["", "<details><summary>every cold start</summary>", "",
               "| function | run | init | first invoke | warm p50 | warm p99 | VmHWM |",
               "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for spec in specs:
        for i, r in enumerate(runs[spec["name"]], 1):
            per_run.append(f"| {spec['name']} | {i} | {r['init_ms']:.2f} ms | {r['first_ms']:.2f} ms | "
                           f"{r['p50_ms']:.3f} ms | {r['p99_ms']:.3f} ms | {r['hwm_kib'] / 1024:.1f} MiB |")
    per_run += ["", "</details>"]
    text = "\n".join(head + rows + [""] + target_rows + per_run) + "\n"
    print(text)

    if args.out:
        begin, end = "<!-- bench_lambda:begin -->", "<!-- bench_lambda:end -->"
        try:
            with open(args.out) as f:
                doc = f.read()
        except FileNotFoundError:
            doc = ""
        block = f"{begin}\n{text}{end}"
        if begin in doc and end in doc:
            doc = doc[: doc.index(begin)] + block + doc[doc.index(end) + len(end):]
        else:
            doc = (doc.rstrip("\n") + "\n\n" if doc else "") + block + "\n"
        with open(args.out, "w") as f:
            f.write(doc)
        log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
