#!/usr/bin/env python3
"""Fault-injection soak: mixed traffic against the all-in-one server while its backing
services are hung (SIGSTOP) or stopped, then a check that every acknowledged write is there.

Run by scripts/bench/soak.sh (which starts a private stack and the server, and injects the faults
through `scripts/bench/soak.sh fault ACTION`); it runs under the moto venv's python for boto3.
Standard library otherwise.

Traffic (every request has a client timeout, SOAK_TIMEOUT seconds, default 5):
- browse (3 threads): GET /v1/products (pages, categories), GET /v1/products/{id}, search
  ?q= (3+ characters), an unknown id (404 expected), GET /v1/products/{id}/images;
- product writes as the dev admin (2 threads, each owning its products): POST /v1/products
  (Idempotency-Key), PATCH /v1/products/{id} (name and price carry a revision number),
  PUT /v1/products/{id}/inventory (stock carries a revision number);
- uploads (1 thread): POST /v1/products/{id}/images, then PUT the bytes (a small PNG) to the
  presigned URL (straight to S3, i.e. moto: counted apart from the server's requests);
- checkouts (2 threads, 3 customers each): POST /v1/cart/items, POST /v1/orders
  (Idempotency-Key), GET /v1/orders/{id} until the order leaves PENDING;
- a probe (1 thread): a product create then a search, every 0.5 s, so recovery times have
  a resolution of about a second;
- a health probe: GET /v1/products/health every 0.5 s.

Timeline: SOAK_BASELINE seconds of traffic, then for each fault of SOAK_FAULTS (default
"redis-pause moto-pause postgres-pause redis-stop postgres-stop") SOAK_OUTAGE seconds of
outage then SOAK_RECOVERY seconds with the dependency back. Then the settle phase (at most
SOAK_SETTLE seconds): every 202'd order must reach a final status, the products' outbox must
drain, and every acknowledged product write must be in Postgres and in the DynamoDB
ProductCatalog projection (same version, name, price and available stock).

Latency verdict, per outage and request kind: the worst latency against the kind's normal
time (its baseline p99) + 1 s, the target of issue 12 item 3 (reported, with what the server
log says about the worst request), and against the deadline + 0.5 s (the contract: exit 3).

Then every keyed POST that got no answer (timeout) or a 503 is retried with the same
Idempotency-Key and body, as a client should, at once and (for keys still in progress) after
the claim's 60 s lease, waiting at most SOAK_RETRY_WAIT seconds (75): a replay of the first
answer is right; running the handler a second time for a request that had committed is not.

Writes a markdown report on stdout (and to SOAK_REPORT if set) and the raw request records to
SOAK_RAW_DIR/requests.jsonl. Exit status: 0 clean; 1 an acknowledged write is missing or a 500
appeared; 2 the fault injection failed; 3 another breach of the contract (a request not
answered within the server's deadline, REQUEST_TIMEOUT_MS, + 0.5 s, an unexpected status, a
failed request in the baseline, an order that never reached a final status, a dependency without recovery, an idempotent retry that ran a committed
request again).
"""

from __future__ import annotations

import bisect
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from shop_http import ADMIN_EMAIL, ADMIN_PASSWORD, BASE_URL, env_float, png, request  # noqa: E402

TIMEOUT = env_float("SOAK_TIMEOUT", 5)
BASELINE = env_float("SOAK_BASELINE", 10)
OUTAGE = env_float("SOAK_OUTAGE", 15)
RECOVERY = env_float("SOAK_RECOVERY", 12)
SETTLE = env_float("SOAK_SETTLE", 150)
RETRY_WAIT = env_float("SOAK_RETRY_WAIT", 75)
LEASE = 60.0  # the idempotency claim's lease (crates/common/src/services/idempotency.rs)
FAULTS = os.environ.get(
    "SOAK_FAULTS", "redis-pause moto-pause postgres-pause redis-stop postgres-stop"
).split()
SOAK_SH = os.environ.get("SOAK_SH", os.path.join(os.path.dirname(__file__), "soak.sh"))
DATABASE_URL = os.environ.get("DATABASE_URL", "")
RAW_DIR = os.environ.get("SOAK_RAW_DIR", "")
REPORT = os.environ.get("SOAK_REPORT", "")
SERVER_LOG = os.environ.get("SOAK_SERVER_LOG", "")
SERVER_PID = os.environ.get("SOAK_SERVER_PID", "")
TABLE_PREFIX = os.environ.get("DYNAMODB_TABLE_PREFIX", "")
SEED = int(env_float("SOAK_SEED", 0)) or None
# The server's latency settings (scripts/bench/soak.sh exports the production defaults).
DEADLINE = env_float("REQUEST_TIMEOUT_MS", 2000) / 1000
AWS_TIMEOUT = env_float("AWS_TIMEOUT_MS", 800) / 1000
ACQUIRE_TIMEOUT = env_float("DATABASE_ACQUIRE_TIMEOUT_MS", 1000) / 1000
DEADLINE_SLACK = 0.5  # the contract: every request answered within DEADLINE + this
NORMAL_SLACK = 1.0    # the target: worst latency in an outage within normal (baseline p99) + this
MIN_BASELINE = 10     # fewer baseline samples of a kind: its normal also counts recovery phases

RUN = time.strftime("%m%d%H%M%S") + uuid.uuid4().hex[:4]
RNG = random.Random(SEED)
FINAL_ORDER = {"CONFIRMED", "FAILED", "CANCELLED", "SHIPPED", "DELIVERED"}
DEP_LABEL = {"redis": "Redis", "moto": "AWS emulator (moto)", "postgres": "PostgreSQL"}
HEALTH_KEY = {"redis": "redis", "moto": "dynamodb", "postgres": "postgres"}
# What a request of each kind answers when it succeeded.
OK_STATUS = {
    "list": {200}, "get": {200}, "search": {200}, "get_unknown": {404}, "images_list": {200},
    "product_create": {201}, "product_patch": {200}, "inventory_put": {200},
    "image_request": {201}, "s3_put": {200}, "cart_add": {200}, "checkout": {202},
    "order_get": {200}, "cart_get": {200}, "health": {200}, "login": {200}, "register": {201},
    "retry_create": {201}, "retry_checkout": {202},
}
RETRY_KINDS = ("retry_create", "retry_checkout")
SERVER_KINDS = [k for k in OK_STATUS if k not in ("s3_put", "health")]

T0 = time.monotonic()


def now() -> float:
    return time.monotonic() - T0


def log(msg: str) -> None:
    print(f"soak: [{now():7.1f}s] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- timeline

class Timeline:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: list[float] = [0.0]
        self.names: list[str] = ["setup"]

    def enter(self, name: str) -> None:
        with self.lock:
            self.times.append(now())
            self.names.append(name)
        log(f"phase: {name}")

    def at(self, t: float) -> str:
        with self.lock:
            i = bisect.bisect_right(self.times, t) - 1
            return self.names[max(i, 0)]

    def order(self) -> list[str]:
        seen: list[str] = []
        for n in self.names:
            if n not in seen:
                seen.append(n)
        return seen


TIMELINE = Timeline()
STOP = threading.Event()


# --------------------------------------------------------------------------- HTTP

class Records:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[dict] = []
        self.seq = 0

    def next_id(self) -> str:
        with self.lock:
            self.seq += 1
            return f"soak-{RUN}-{self.seq}"

    def add(self, rec: dict) -> None:
        with self.lock:
            self.items.append(rec)


RECORDS = Records()


def call(kind: str, method: str, url: str, body=None, token: str | None = None,
         headers: dict | None = None, raw: bytes | None = None, timeout: float = TIMEOUT):
    """One request with a client timeout; returns (status, parsed JSON or None, record).
    status 0 means no answer (code: timeout, refused, reset, …)."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    hdrs = dict(headers or {})
    request_id = RECORDS.next_id()
    if raw is None:
        hdrs["x-request-id"] = request_id
    started = now()
    wall = time.time()
    answer = request(method, url, body=body, data=raw, token=token, headers=hdrs,
                     timeout=timeout, redirects=0)
    status, parsed, text = answer.status, answer.json(), answer.body[:300].decode("utf-8", "replace")
    code = answer.code if status else answer.error
    ended = now()
    rec = {
        "kind": kind, "method": method, "path": parts.path if raw is not None else path,
        "status": status, "code": code, "start": round(started, 3), "end": round(ended, 3),
        "latency": round(ended - started, 4), "phase": TIMELINE.at(started),
        "request_id": request_id if raw is None else "", "ok": status in OK_STATUS[kind],
        "wall": round(wall, 3),
    }
    if status >= 500 or (status >= 400 and not rec["ok"] and status != 503):
        rec["body"] = text
    RECORDS.add(rec)
    return status, parsed, rec


def api(kind, method, path, **kw):
    return call(kind, method, BASE_URL + path, **kw)


# --------------------------------------------------------------------------- shared state

class Product:
    def __init__(self, product_id: int, sku: str, name: str, price: str, stock: int,
                 writer: int, n: int):
        self.product_id = product_id
        self.sku = sku
        self.writer = writer
        self.n = n
        self.rev = 0  # PATCH revision counter
        self.inv = 0  # inventory revision counter
        # Every attempt, in order: (revision, name, price, acknowledged)
        self.patches: list[tuple[int, str, str, bool]] = [(0, name, price, True)]
        self.stocks: list[tuple[int, bool]] = [(stock, True)]


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.products: list[Product] = []          # acknowledged creates (writers)
        self.checkout_products: list[int] = []
        self.unacked_creates: list[dict] = []       # {sku, code, phase}
        self.images: list[dict] = []               # acknowledged upload requests
        self.orders: dict[int, dict] = {}          # acknowledged checkouts
        self.unacked_checkouts: list[dict] = []
        self.cart_adds = 0
        self.health: list[dict] = []               # {t, status, checks}

    def browse_ids(self) -> list[int]:
        with self.lock:
            return [p.product_id for p in self.products] + self.checkout_products


STATE = State()


PNG = png()


# --------------------------------------------------------------------------- setup

def retry(what: str, fn, attempts: int = 20):
    for i in range(attempts):
        result = fn()
        if result is not None:
            return result
        time.sleep(0.5 + 0.25 * i)
    raise SystemExit(f"soak: setup failed: {what}")


def login(email: str, password: str) -> str | None:
    status, body, _ = api("login", "POST", "/v1/users/login",
                          body={"email": email, "password": password}, timeout=15)
    return body["access_token"] if status == 200 else None


def create_product(token: str, writer: int, n: int, stock: int = 100,
                   price: str | None = None, timeout: float = TIMEOUT) -> Product | None:
    sku = f"SOAK-{RUN}-{writer}-{n}"
    name = f"Soak {RUN} w{writer} n{n} r0"
    price = price or f"{RNG.randint(2, 80)}.{RNG.choice(['00', '25', '50', '99'])}"
    body = {"sku": sku, "name": name, "price": price, "stock": stock,
            "category": f"soak-{RNG.choice('abc')}", "tags": ["soak", f"w{writer}"],
            "description": f"soak run {RUN}"}
    key = f"{RUN}-create-{writer}-{n}"
    status, resp, rec = api("product_create", "POST", "/v1/products", body=body, token=token,
                            headers={"idempotency-key": key}, timeout=timeout)
    if status == 201:
        p = Product(int(resp["product_id"]), sku, name, price, stock, writer, n)
        return p
    with STATE.lock:
        STATE.unacked_creates.append({"sku": sku, "code": rec["code"] or str(status),
                                      "phase": rec["phase"], "request_id": rec["request_id"],
                                      "key": key, "body": body, "token": token,
                                      "start": rec["start"]})
    return None


def setup(customers: int) -> tuple[str, list[tuple[str, str]]]:
    admin = retry("admin login", lambda: login(ADMIN_EMAIL, ADMIN_PASSWORD))
    users = []
    for i in range(customers):
        email = f"soak-{RUN}-{i}@example.com"
        password = "Soak-Passw0rd!"

        def register():
            status, _, _ = api("register", "POST", "/v1/users/register", timeout=15,
                               body={"name": f"Soak {i}", "email": email, "password": password})
            return True if status in (201, 409) else None

        retry(f"register {email}", register)
        users.append((email, retry(f"login {email}", lambda: login(email, password))))
    for j, price in enumerate(["4.20", "6.50", "9.99"]):
        p = retry("checkout product",
                  lambda: create_product(admin, 9, j, stock=1_000_000, price=price, timeout=15))
        with STATE.lock:
            STATE.checkout_products.append(p.product_id)
            STATE.products.append(p)
    for w in range(2):
        for n in range(3):
            p = retry("seed product", lambda: create_product(admin, w, n, timeout=15))
            with STATE.lock:
                STATE.products.append(p)
    return admin, users


# --------------------------------------------------------------------------- workers

def browse_worker(idx: int) -> None:
    rng = random.Random(idx if SEED is None else SEED + idx)
    cursor = None
    while not STOP.is_set():
        r = rng.random()
        ids = STATE.browse_ids()
        if r < 0.30:
            q = f"?limit={rng.choice([5, 20, 50])}"
            if rng.random() < 0.4:
                q += f"&category=soak-{rng.choice('abc')}"
            if cursor and rng.random() < 0.5:
                q = f"?limit=20&cursor={urllib.parse.quote(cursor)}"
            status, body, _ = api("list", "GET", "/v1/products" + q)
            cursor = body.get("next_cursor") if status == 200 and isinstance(body, dict) else None
        elif r < 0.65 and ids:
            api("get", "GET", f"/v1/products/{rng.choice(ids)}")
        elif r < 0.85:
            term = rng.choice([RUN, "soak", f"w{rng.randint(0, 1)} n{rng.randint(0, 20)}",
                               "Soak " + RUN[:6], "zzz-nothing"])
            api("search", "GET", "/v1/products?q=" + urllib.parse.quote(term))
        elif r < 0.93:
            api("get_unknown", "GET", f"/v1/products/{rng.randint(10**9, 2 * 10**9)}")
        elif ids:
            api("images_list", "GET", f"/v1/products/{rng.choice(ids)}/images")
        STOP.wait(0.05)


def writer_worker(w: int, token: str) -> None:
    rng = random.Random(100 + w if SEED is None else SEED + 100 + w)
    n = 3
    while not STOP.is_set():
        with STATE.lock:
            own = [p for p in STATE.products if p.writer == w]
        r = rng.random()
        if r < 0.3 or not own:
            p = create_product(token, w, n)
            n += 1
            if p:
                with STATE.lock:
                    STATE.products.append(p)
        elif r < 0.7:
            p = rng.choice(own)
            p.rev += 1
            name = f"Soak {RUN} w{w} n{p.n} r{p.rev}"
            price = f"{10 + p.rev % 80}.{p.rev % 100:02d}"
            status, _, _ = api("product_patch", "PATCH", f"/v1/products/{p.product_id}",
                               body={"name": name, "price": price}, token=token)
            p.patches.append((p.rev, name, price, status == 200))
        else:
            p = rng.choice(own)
            p.inv += 1
            stock = 1000 + p.inv
            status, _, _ = api("inventory_put", "PUT", f"/v1/products/{p.product_id}/inventory",
                               body={"stock": stock}, token=token)
            p.stocks.append((stock, status == 200))
        STOP.wait(0.1)


def probe_worker(token: str) -> None:
    """A steady write-and-search probe (writer 2), so that recovery times have a resolution of
    about a second: a product create (Postgres + DynamoDB), then a search (Postgres)."""
    n = 0
    while not STOP.is_set():
        p = create_product(token, 2, n)
        n += 1
        if p:
            with STATE.lock:
                STATE.products.append(p)
        STOP.wait(0.25)
        api("search", "GET", "/v1/products?q=" + urllib.parse.quote(f"w2 n{max(n - 1, 0)}"))
        STOP.wait(0.25)


def upload_worker(token: str) -> None:
    rng = random.Random(200 if SEED is None else SEED + 200)
    while not STOP.is_set():
        with STATE.lock:
            ids = [p.product_id for p in STATE.products if p.writer != 9]
        if ids:
            pid = rng.choice(ids)
            status, body, rec = api("image_request", "POST", f"/v1/products/{pid}/images",
                                    token=token,
                                    body={"content_type": "image/png", "content_length": len(PNG)})
            if status == 201:
                image = {"image_id": body["image_id"], "product_id": pid, "put": None,
                         "phase": rec["phase"]}
                headers = dict(body.get("headers") or {})
                headers.setdefault("content-type", "image/png")
                put_status, _, _ = call("s3_put", "PUT", body["url"], headers=headers, raw=PNG)
                image["put"] = put_status
                with STATE.lock:
                    STATE.images.append(image)
        STOP.wait(0.3)


def checkout_worker(idx: int, customers: list[tuple[str, str]]) -> None:
    """Each customer in turn: add to the cart, check out, then follow the order until it is
    final; after a CONFIRMED order, wait (at most 15 s) for the saga to take the bought units
    out of the cart before adding again, so a checkout never buys units twice."""
    rng = random.Random(300 + idx if SEED is None else SEED + 300 + idx)
    pending: dict[int, int | None] = {i: None for i in range(len(customers))}
    cart_wait: dict[int, float | None] = {i: None for i in range(len(customers))}
    turn = 0
    while not STOP.is_set():
        i = turn % len(customers)
        turn += 1
        _, token = customers[i]
        if pending[i] is not None:
            status, body, _ = api("order_get", "GET", f"/v1/orders/{pending[i]}", token=token)
            if status == 200 and body.get("status") in FINAL_ORDER:
                pending[i] = None
                if body.get("status") == "CONFIRMED":
                    cart_wait[i] = time.monotonic() + 15
            else:
                STOP.wait(0.1)
                continue
        if cart_wait[i] is not None:
            status, body, _ = api("cart_get", "GET", "/v1/cart", token=token)
            empty = status == 200 and not body.get("items")
            if not empty and time.monotonic() < cart_wait[i]:
                STOP.wait(0.1)
                continue
            cart_wait[i] = None
        status, _, _ = api("cart_add", "POST", "/v1/cart/items", token=token,
                           body={"product_id": rng.choice(STATE.checkout_products),
                                 "quantity": rng.randint(1, 3)})
        if status == 200:
            with STATE.lock:
                STATE.cart_adds += 1
            key = f"{RUN}-order-{idx}-{turn}"
            status, body, rec = api("checkout", "POST", "/v1/orders", token=token, body={},
                                    headers={"idempotency-key": key})
            if status == 202:
                oid = int(body["order_id"])
                pending[i] = oid
                with STATE.lock:
                    STATE.orders[oid] = {"phase": rec["phase"], "request_id": rec["request_id"]}
            else:
                with STATE.lock:
                    STATE.unacked_checkouts.append({"request_id": rec["request_id"],
                                                    "code": rec["code"] or str(status),
                                                    "phase": rec["phase"], "key": key,
                                                    "token": token, "start": rec["start"]})
        STOP.wait(0.2)


def health_worker() -> None:
    while not STOP.is_set():
        status, body, rec = call("health", "GET", BASE_URL + "/v1/products/health")
        checks = body.get("checks", {}) if isinstance(body, dict) else {}
        with STATE.lock:
            STATE.health.append({"start": rec["start"], "end": rec["end"], "status": status,
                                 "checks": checks})
        STOP.wait(0.5)


def psql(sql: str, timeout: float = 10) -> str:
    out = subprocess.run(
        ["psql", DATABASE_URL, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PGCONNECT_TIMEOUT": "2"},
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip()[:200])
    return out.stdout.strip()


# --------------------------------------------------------------------------- faults

def fault(action: str) -> float:
    started = time.monotonic()
    out = subprocess.run(["bash", SOAK_SH, "fault", action], capture_output=True, text=True,
                         timeout=90)
    if out.returncode != 0:
        log(f"fault {action} failed: {out.stderr.strip()}")
        raise RuntimeError(f"fault {action} failed")
    return time.monotonic() - started


def run_faults(done: list[dict]) -> None:
    STOP.wait(max(0.0, TIMELINE.times[-1] + BASELINE - now()))
    for spec in FAULTS:
        dep, mode = spec.rsplit("-", 1)
        assert dep in DEP_LABEL and mode in ("pause", "stop"), spec
        if mode == "stop" and dep == "moto":
            raise SystemExit("soak: stopping moto loses its state; only pause it")
        f = {"spec": spec, "dep": dep, "mode": mode}
        word = "paused" if mode == "pause" else "stopped"
        f["outage_phase"] = f"{dep} {word}"
        f["recovery_phase"] = f"{dep} {'resumed' if mode == 'pause' else 'restarted'}"
        TIMELINE.enter(f["outage_phase"])
        f["begin"] = now()
        f["begin_wall"] = time.time()
        f["inject_s"] = fault(f"{mode}-{dep}")
        time.sleep(max(0.0, f["begin"] + OUTAGE - now()))
        f["restore_begin"] = now()
        f["restore_s"] = fault(("resume-" if mode == "pause" else "start-") + dep)
        f["back"] = now()
        f["back_wall"] = time.time()
        TIMELINE.enter(f["recovery_phase"])
        done.append(f)
        time.sleep(max(0.0, f["back"] + RECOVERY - now()))


# --------------------------------------------------------------------------- verification

def pg_json(sql: str):
    text = psql(f"SELECT coalesce(json_agg(t), '[]') FROM ({sql}) t", timeout=30)
    return json.loads(text or "[]")


def dynamo_items(ids: list[int]) -> dict[int, dict]:
    import boto3  # the moto venv has it

    client = boto3.client("dynamodb", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
                          region_name=os.environ.get("AWS_REGION", "us-east-1"))
    table = TABLE_PREFIX + "ProductCatalog"
    found: dict[int, dict] = {}
    for i in range(0, len(ids), 100):
        keys = [{"product_id": {"N": str(x)}} for x in ids[i:i + 100]]
        request = {table: {"Keys": keys, "ConsistentRead": True}}
        while request:
            resp = client.batch_get_item(RequestItems=request)
            for item in resp["Responses"].get(table, []):
                found[int(item["product_id"]["N"])] = {
                    "version": int(item["version"]["N"]),
                    "name": item["name"]["S"],
                    "price": item["price"]["S"],
                    "stock_available": int(item["stock_available"]["N"]),
                }
            request = resp.get("UnprocessedKeys") or None
    return found


def allowed_final(attempts: list, value_of) -> set:
    """The values the final state may hold: the last acknowledged one, or any attempted after
    it (an unacknowledged write may have committed)."""
    last_ack = max(i for i, a in enumerate(attempts) if a[-1])
    return {value_of(a) for a in attempts[last_ack:]}


def outbox_per_fault(faults: list[dict]) -> None:
    """For the outbox entries written during each outage: how many needed the relay (a failed
    first attempt) and when the last one was applied, relative to the resume/restart."""
    for f in faults:
        rows = pg_json(
            "SELECT aggregate_type, count(*) AS n, count(*) FILTER (WHERE attempts > 1) AS "
            "relayed, count(*) FILTER (WHERE processed_at IS NULL) AS pending, "
            "extract(epoch FROM max(processed_at))::float8 AS last FROM outbox "
            f"WHERE created_at >= to_timestamp({f['begin_wall']}) "
            f"AND created_at < to_timestamp({f['back_wall']}) GROUP BY 1")
        f["outbox"] = {r["aggregate_type"]: r for r in rows}


def verify() -> dict:
    """Waits (at most SETTLE seconds) for the orders to settle and the projection to catch up,
    then compares every acknowledged write with Postgres and DynamoDB."""
    TIMELINE.enter("settle")
    deadline = time.monotonic() + SETTLE
    settle_start = now()
    with STATE.lock:
        products = list(STATE.products)
        orders = dict(STATE.orders)
        images = list(STATE.images)
        unacked_checkouts = list(STATE.unacked_checkouts)
        unacked_creates = list(STATE.unacked_creates)
    ids = [p.product_id for p in products]
    # Checkouts without an answer may still have made an order (correlation id = request id).
    extra_orders = {}
    rids = [u["request_id"] for u in unacked_checkouts]
    if rids:
        for row in pg_json("SELECT order_id, correlation_id FROM orders WHERE correlation_id IN ("
                           + ",".join(f"'{r}'" for r in rids) + ")"):
            extra_orders[row["order_id"]] = row["correlation_id"]
    result: dict = {}
    while True:
        pg_products = {r["product_id"]: r for r in pg_json(
            "SELECT p.product_id, p.sku, p.name, p.price::text AS price, p.version, "
            "p.deleted_at IS NOT NULL AS deleted, i.stock, i.reserved "
            "FROM products p LEFT JOIN product_inventory i USING (product_id) "
            f"WHERE p.product_id IN ({','.join(map(str, ids)) or '0'})")}
        all_orders = list(orders) + list(extra_orders)
        pg_orders = {r["order_id"]: r for r in pg_json(
            "SELECT order_id, status, failure_reason FROM orders "
            f"WHERE order_id IN ({','.join(map(str, all_orders)) or '0'})")}
        image_ids = [i["image_id"] for i in images]
        pg_images = {r["image_id"]: r for r in pg_json(
            "SELECT image_id::text, status, failure_reason FROM product_images WHERE image_id IN ("
            + (",".join(f"'{i}'" for i in image_ids) or "NULL") + ")")} if image_ids else {}
        backlog = int(psql("SELECT count(*) FROM outbox WHERE processed_at IS NULL "
                           "AND aggregate_type = 'product'"))
        dyn = dynamo_items(ids)
        problems = []
        stale = []
        for p in products:
            row = pg_products.get(p.product_id)
            if row is None or row["deleted"]:
                problems.append(("create", p.product_id,
                                 f"product {p.product_id} ({p.sku}): 201 but not in Postgres"))
                continue
            names = allowed_final(p.patches, lambda a: (a[1], a[2]))
            abandoned = {(a[1], a[2]) for a in p.patches if not a[3]}
            if (row["name"], row["price"]) not in names and (row["name"], row["price"]) in abandoned:
                problems.append(("patch", p.product_id,
                                 f"product {p.product_id}: acknowledged PATCH "
                                 f"{[a for a in p.patches if a[3]][-1][1:3]} overwritten by an "
                                 f"earlier PATCH the client had given up on: {row['name']!r} "
                                 f"{row['price']}"))
            elif (row["name"], row["price"]) not in names:
                problems.append(("patch", p.product_id,
                                 f"product {p.product_id}: Postgres has {row['name']!r} "
                                 f"{row['price']}, last acknowledged PATCH was "
                                 f"{[a for a in p.patches if a[3]][-1][1:3]}"))
            stocks = allowed_final(p.stocks, lambda a: a[0])
            if p.writer != 9 and row["stock"] not in stocks:
                late = row["stock"] in {a[0] for a in p.stocks if not a[1]}
                problems.append(("stock", p.product_id,
                                 f"product {p.product_id}: acknowledged stock "
                                 f"{[a for a in p.stocks if a[1]][-1][0]} overwritten by an "
                                 f"earlier PUT the client had given up on: {row['stock']}")
                                if late else ("stock", p.product_id,
                                 f"product {p.product_id}: Postgres stock {row['stock']}, "
                                 f"last acknowledged {[a for a in p.stocks if a[1]][-1][0]}"))
            d = dyn.get(p.product_id)
            available = (row["stock"] or 0) - (row["reserved"] or 0)
            if p.writer == 9 and d is not None:
                # Checkout products: reservations change stock without a catalogue event.
                available = d["stock_available"]
            if d is None:
                stale.append(f"product {p.product_id}: not in ProductCatalog")
            elif (d["version"], d["name"], d["price"], d["stock_available"]) != (
                    row["version"], row["name"], row["price"], available):
                stale.append(f"product {p.product_id}: ProductCatalog v{d['version']} "
                             f"{d['name']!r} {d['price']} avail {d['stock_available']} vs "
                             f"Postgres v{row['version']} {row['name']!r} {row['price']} "
                             f"avail {available}")
        missing_orders = [o for o in orders if o not in pg_orders]
        not_final = [o for o, r in pg_orders.items() if r["status"] not in FINAL_ORDER]
        missing_images = [i for i in image_ids if i not in pg_images]
        images_pending = [i["image_id"] for i in images
                          if i["put"] == 200 and pg_images.get(i["image_id"], {}).get("status")
                          == "pending"]
        done = not stale and not not_final and backlog == 0 and not images_pending
        if done or time.monotonic() >= deadline:
            break
        time.sleep(2)
    result.update(
        settle_s=now() - settle_start, products=products, pg_products=pg_products, dyn=dyn,
        problems=problems, stale=stale, orders=orders, extra_orders=extra_orders,
        pg_orders=pg_orders, missing_orders=missing_orders, not_final=not_final,
        images=images, pg_images=pg_images, missing_images=missing_images,
        images_pending=images_pending, backlog=backlog, unacked_creates=unacked_creates,
        unacked_checkouts=unacked_checkouts,
    )
    # Creates that got no 201: did they commit anyway?
    skus = [u["sku"] for u in unacked_creates]
    committed = pg_json("SELECT product_id, sku FROM products WHERE sku IN ("
                        + ",".join(f"'{s}'" for s in skus) + ")") if skus else []
    result["unacked_committed"] = {r["sku"]: r["product_id"] for r in committed}
    if committed:
        dyn_extra = dynamo_items([r["product_id"] for r in committed])
        result["unacked_committed_projected"] = sum(
            1 for r in committed if r["product_id"] in dyn_extra)
    else:
        result["unacked_committed_projected"] = 0
    return result


def retries(v: dict) -> list[dict]:
    """Retries every keyed POST that got no answer (or a 503) with the same Idempotency-Key and
    body, as a client should: first at once, then, for keys still `IDEMPOTENCY_IN_PROGRESS`,
    once more after the claim's lease expired (waiting at most RETRY_WAIT seconds)."""
    TIMELINE.enter("idempotent retries")
    def unanswered(u: dict) -> bool:  # no answer, or a 5xx: a client retries those
        return u["code"] in ("timeout", "reset", "refused", "DEPENDENCY_UNAVAILABLE", "INTERNAL") \
            or u["code"].startswith(("oserror", "5"))

    todo = ([dict(u, what="create") for u in v["unacked_creates"] if unanswered(u)]
            + [dict(u, what="checkout") for u in v["unacked_checkouts"] if unanswered(u)])
    committed_orders = {rid: oid for oid, rid in v["extra_orders"].items()}
    results = []

    def attempt(u: dict, round_: int) -> dict:
        if u["what"] == "create":
            status, body, rec = api("retry_create", "POST", "/v1/products", body=u["body"],
                                    token=u["token"], headers={"idempotency-key": u["key"]})
            first = v["unacked_committed"].get(u["sku"])
            got = body.get("product_id") if status == 201 and isinstance(body, dict) else None
        else:
            status, body, rec = api("retry_checkout", "POST", "/v1/orders", body={},
                                    token=u["token"], headers={"idempotency-key": u["key"]})
            first = committed_orders.get(u["request_id"])
            got = body.get("order_id") if status == 202 and isinstance(body, dict) else None
        return {"what": u["what"], "round": round_, "first_code": u["code"],
                "first_phase": u["phase"], "first_committed": first, "status": status,
                "code": rec["code"], "got": got, "request_id": rec["request_id"],
                "key": u["key"], "first_request_id": u["request_id"], "start": u["start"]}

    later = []
    for u in todo:
        r = attempt(u, 1)
        results.append(r)
        if r["code"] == "IDEMPOTENCY_IN_PROGRESS":
            later.append(u)
    if later:
        due = max(u["start"] for u in later) + LEASE + 2
        wait = min(max(0.0, due - now()), RETRY_WAIT)
        log(f"{len(later)} key(s) in progress: retrying after the lease, in {wait:.0f} s")
        time.sleep(wait)
        for u in later:
            results.append(attempt(u, 2))
    return results


def classify_retry(r: dict) -> tuple[str, bool]:
    """(what happened, whether it breaks the Idempotency-Key contract)."""
    first, got, status, code = r["first_committed"], r["got"], r["status"], r["code"]
    if r["what"] == "create":
        if status == 201 and first is not None and got == first:
            return "201, the first attempt's product (replayed)", False
        if status == 201 and first is None:
            return "201, created now (the first attempt had not committed)", False
        if status == 409 and code == "CONFLICT" and first is not None:
            return ("409 CONFLICT: the first attempt committed the product but its answer was "
                    "never stored, and the retry ran the handler again"), True
    else:
        if status == 202 and first is not None and got == first:
            return "202, the first attempt's order (replayed)", False
        if status == 202 and first is None:
            return "202, ordered now (the first attempt had not committed)", False
        if status == 202 and first is not None and got != first:
            return "202 with a SECOND order: the first attempt had committed one", True
        if status == 400 and code == "VALIDATION_FAILED" and first is not None:
            return ("400 VALIDATION_FAILED (empty cart): the first attempt committed an order but "
                    "its answer was never stored, and the retry ran the handler again"), True
        if status == 400 and code == "VALIDATION_FAILED":
            return "400 VALIDATION_FAILED (empty cart; nothing had been ordered)", False
    if code == "IDEMPOTENCY_IN_PROGRESS":
        return "409 IDEMPOTENCY_IN_PROGRESS (the lease of the abandoned attempt)", r["round"] > 1
    return f"{status or ''} {code}".strip(), status >= 500 or status == 0


# --------------------------------------------------------------------------- report

def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def ms(x: float) -> str:
    return f"{x * 1000:,.0f} ms" if x < 10 else f"{x:,.1f} s"


def server_log_index() -> tuple[dict[str, dict], list[tuple[float, str]]]:
    """request id → what the server logged for it: its `request completed` line (status,
    latency), the last line that names it (as request or correlation id) and its WARN/ERROR
    lines; and every WARN/ERROR line as (epoch seconds, text), for what happened meanwhile
    (a line logged in a nested span does not carry the request's id)."""
    import re
    from datetime import datetime

    index: dict[str, dict] = {}
    warns: list[tuple[float, str]] = []
    if not SERVER_LOG or not os.path.exists(SERVER_LOG):
        return index, warns
    pattern = re.compile(r"soak-" + re.escape(RUN) + r"-\d+")
    with open(SERVER_LOG, errors="replace") as fh:
        for line in fh:
            ids = set(pattern.findall(line))
            is_warn = '"WARN"' in line or '"ERROR"' in line
            if not ids and not is_warn:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            level = str(rec.get("level", ""))
            text = level + " " + str(rec.get("message", ""))
            if rec.get("error"):
                text += ": " + str(rec["error"])[:120]
            if level in ("WARN", "ERROR"):
                try:
                    ts = datetime.fromisoformat(rec.get("timestamp", "")).timestamp()
                except ValueError:
                    ts = 0.0
                warns.append((ts, text))
            for rid in ids:
                entry = index.setdefault(rid, {})
                entry["last"] = (rec.get("timestamp", "")[11:23] + " " + level
                                 + " " + str(rec.get("message", "")))
                extra = {k: rec[k] for k in ("order_id", "product_id", "error", "reason")
                         if k in rec}
                if extra:
                    entry["last"] += " " + json.dumps(extra)[:160]
                if level in ("WARN", "ERROR"):
                    entry.setdefault("warns", []).append(text)
                if rec.get("message") == "request completed":
                    entry["status"] = rec.get("status")
                    entry["latency_us"] = rec.get("latency_us")
    warns.sort()
    return index, warns


def explain(r: dict, log_index: dict, warns: list) -> str:
    """What the server log says about one request: its answer and time in the server, its own
    WARN/ERROR lines, and (if it had none) the most frequent ones logged while it ran."""
    srv = log_index.get(r["request_id"], {})
    parts = []
    if "status" in srv:
        took = srv["latency_us"] / 1e6
        parts.append(f"server: {srv['status']} after {ms(took)}")
        if r["latency"] - took > 0.3:
            parts.append(f"{ms(r['latency'] - took)} outside the handler (before the server "
                         "read the request, or in the client)")
    else:
        parts.append("server: no `request completed` line")
    own = Counter(srv.get("warns", []))
    if own:
        parts.append("its log: " + "; ".join(
            f"`{t.replace('`', chr(39))}`" + (f" × {n}" if n > 1 else "")
            for t, n in own.most_common(3)))
    elif warns:
        lo = bisect.bisect_left(warns, (r["wall"], ""))
        hi = bisect.bisect_right(warns, (r["wall"] + r["latency"], "\uffff"))
        meanwhile = Counter(t for _, t in warns[lo:hi])
        if meanwhile:
            parts.append("meanwhile: " + "; ".join(
                f"`{t.replace('`', chr(39))}` × {n}" for t, n in meanwhile.most_common(2)))
    return "; ".join(parts)


def report(faults: list[dict], v: dict, tries: list[dict]) -> tuple[str, int]:
    recs = RECORDS.items
    # A request in flight when a fault began, or started during it, belongs to that outage.
    for r in recs:
        for f in faults:
            if r["start"] < f["back"] and r["end"] > f["begin"]:
                r["phase"] = f["outage_phase"]
                break
    server = [r for r in recs if r["kind"] in SERVER_KINDS]
    traffic = [r for r in server if r["phase"] != "setup"]
    s3 = [r for r in recs if r["kind"] == "s3_put"]
    health = STATE.health
    lines: list[str] = []
    out = lines.append
    breaches: list[str] = []
    fatal: list[str] = []
    log_index, warns = server_log_index()

    # ---- acknowledged writes
    products = v["products"]
    pg_products = v["pg_products"]
    prod_found = sum(1 for p in products
                     if p.product_id in pg_products and not pg_products[p.product_id]["deleted"])
    prod_projected = sum(1 for p in products if p.product_id in v["dyn"]
                         and v["dyn"][p.product_id]["version"]
                         == pg_products.get(p.product_id, {}).get("version"))
    patches_acked = sum(1 for p in products for a in p.patches[1:] if a[3])
    stocks_acked = sum(1 for p in products for a in p.stocks[1:] if a[1])
    bad_patch = {pid for what, pid, _ in v["problems"] if what == "patch"}
    bad_stock = {pid for what, pid, _ in v["problems"] if what == "stock"}
    patches_found = sum(1 for p in products for a in p.patches[1:]
                        if a[3] and p.product_id not in bad_patch
                        and p.product_id in pg_products)
    stocks_found = sum(1 for p in products for a in p.stocks[1:]
                       if a[1] and p.product_id not in bad_stock and p.product_id in pg_products)
    orders = v["orders"]
    orders_found = sum(1 for o in orders if o in v["pg_orders"])
    orders_final = sum(1 for o in orders
                       if v["pg_orders"].get(o, {}).get("status") in FINAL_ORDER)
    images = v["images"]
    images_found = sum(1 for i in images if i["image_id"] in v["pg_images"])
    acked = len(products) + patches_acked + stocks_acked + len(orders) + len(images)
    found = prod_found + patches_found + stocks_found + orders_found + images_found

    n_500 = sum(1 for r in recs if r["status"] == 500)
    timeouts = [r for r in server if r["code"] == "timeout"]
    over = [r for r in server if r["status"] and r["latency"] > TIMEOUT]
    unexpected = [r for r in server if not r["ok"] and r["status"] not in (0, 503)
                  and r["kind"] not in RETRY_KINDS]

    out("### Summary")
    out("")
    out("| | |")
    out("| --- | ---: |")
    out(f"| requests sent to the server (setup + traffic; health probes apart) | {len(server):,} "
        f"({len(traffic):,} during the faults' timeline) |")
    out(f"| health probes (`GET /v1/products/health`) | {len(health):,} |")
    out(f"| presigned S3 PUTs (straight to the emulator) | {len(s3):,} |")
    out(f"| **acknowledged writes** | **{acked:,}** |")
    out(f"| **acknowledged writes found afterwards** | **{found:,}** |")
    out(f"| … of which products also in ProductCatalog (same version) | {prod_projected} of "
        f"{len(products)} |")
    out(f"| cart adds answered 200 (consumed by the checkouts; not re-read) | {STATE.cart_adds} |")
    out(f"| HTTP 500 answers | {n_500} |")
    out(f"| requests the client gave up on (timeout {TIMEOUT:g} s) | {len(timeouts)} |")
    late_n = sum(1 for r in recs if r["kind"] != "s3_put"
                 and (not r["status"] or r["latency"] > DEADLINE + DEADLINE_SLACK))
    out(f"| requests not answered within the deadline + {DEADLINE_SLACK:g} s "
        f"({DEADLINE + DEADLINE_SLACK:g} s; health probes included) | {late_n} |")
    out(f"| worst latency of any request (client side) | "
        f"{ms(max((r['latency'] for r in recs if r['kind'] != 's3_put'), default=0))} |")
    out(f"| other unexpected statuses (not 2xx/expected 404, not 503) | {len(unexpected)} |")
    out(f"| settle phase (orders final, outbox drained, projection equal) | {v['settle_s']:.1f} s |")
    out("")

    out("### Acknowledged writes")
    out("")
    out("| write | acknowledged | found afterwards | missing |")
    out("| --- | ---: | ---: | ---: |")
    rows = [
        ("`POST /v1/products` → 201: row in Postgres", len(products), prod_found),
        ("… and item in DynamoDB ProductCatalog (version, name, price, stock equal to Postgres)",
         len(products), len(products) - len(v["stale"])),
        ("`PATCH /v1/products/{id}` → 200: name and price in Postgres", patches_acked,
         patches_found),
        ("`PUT /v1/products/{id}/inventory` → 200: stock in Postgres", stocks_acked,
         stocks_found),
        ("`POST /v1/products/{id}/images` → 201: image row in Postgres", len(images),
         images_found),
        ("`POST /v1/orders` → 202: order in Postgres", len(orders), orders_found),
        ("… and in a final status (CONFIRMED/FAILED)", len(orders), orders_final),
    ]
    for label, a, f in rows:
        out(f"| {label} | {a} | {f} | {a - f} |")
    out("")
    statuses = Counter(v["pg_orders"][o]["status"] for o in orders if o in v["pg_orders"])
    reasons = Counter(v["pg_orders"][o]["failure_reason"] for o in orders
                      if v["pg_orders"].get(o, {}).get("status") == "FAILED")
    out("Orders: " + ", ".join(f"{k} {n}" for k, n in statuses.most_common())
        + ((" (failure reasons: " + ", ".join(f"`{k}` {n}" for k, n in reasons.most_common())
            + ")") if reasons else "") + ".")
    img_status = Counter(v["pg_images"].get(i["image_id"], {}).get("status", "missing")
                         for i in images if i["put"] == 200)
    out(f"Uploads whose bytes reached S3 ({sum(1 for i in images if i['put'] == 200)}): "
        + ", ".join(f"{k} {n}" for k, n in img_status.most_common()) + ".")
    uc = v["unacked_creates"]
    out(f"Product creates without a 201 ({len(uc)}): {len(v['unacked_committed'])} committed "
        f"anyway (found by SKU; {v['unacked_committed_projected']} of them in the projection).")
    ucc = v["unacked_checkouts"]
    extra = Counter(v["pg_orders"].get(o, {}).get("status", "?") for o in v["extra_orders"])
    out(f"Checkouts without a 202 ({len(ucc)}): {len(v['extra_orders'])} made an order anyway "
        "(found by correlation id = the request's `x-request-id`)"
        + (": " + ", ".join(f"{k} {n}" for k, n in extra.most_common()) if extra else "") + ".")
    by_phase_orders = defaultdict(Counter)
    for o, meta in orders.items():
        row = v["pg_orders"].get(o, {})
        st = row.get("status", "missing")
        if st == "FAILED":
            st = f"FAILED ({row.get('failure_reason')})"
        by_phase_orders[meta["phase"]][st] += 1
    out("Orders by the phase they were placed in: " + "; ".join(
        f"{ph}: " + ", ".join(f"{k} {n}" for k, n in by_phase_orders[ph].most_common())
        for ph in TIMELINE.order() if ph in by_phase_orders) + ".")
    out("")

    # ---- per phase
    out("### Per phase (requests to the server; a request in flight during an outage counts "
        "in that outage)")
    out("")
    out("| phase | requests | ok | errors (status code × count) | p50 | p99 | worst latency |")
    out("| --- | ---: | ---: | --- | ---: | ---: | --- |")
    by_phase = defaultdict(list)
    for r in server:
        by_phase[r["phase"]].append(r)
    for phase in TIMELINE.order():
        rs = by_phase.get(phase, [])
        if not rs:
            continue
        errs = Counter(f"{r['status'] or ''} {r['code']}".strip() for r in rs if not r["ok"])
        lat = [r["latency"] for r in rs]
        worst = max(rs, key=lambda r: r["latency"])
        out(f"| {phase} | {len(rs)} | {sum(r['ok'] for r in rs)} | "
            + (", ".join(f"`{k}` × {n}" for k, n in errs.most_common()) or "–")
            + f" | {ms(pct(lat, .5))} | {ms(pct(lat, .99))} | {ms(worst['latency'])} "
            f"({worst['method']} {worst['kind']}) |")
    out("")
    out("Presigned S3 PUTs per phase: " + "; ".join(
        f"{ph}: {len(rs)} ({sum(r['ok'] for r in rs)} ok"
        + (", " + ", ".join(f"{k} × {n}" for k, n in Counter(
            f"{r['status'] or ''} {r['code']}".strip() for r in rs if not r["ok"]).items())
           if any(not r["ok"] for r in rs) else "") + ")"
        for ph in TIMELINE.order() for rs in [[r for r in s3 if r["phase"] == ph]] if rs) + ".")
    out("")

    # ---- per outage, per kind: the latency verdict
    limit = DEADLINE + DEADLINE_SLACK
    fault_phases = {f["outage_phase"] for f in faults}
    recovery_phases = {f["recovery_phase"] for f in faults}

    def normal_of(kind: str) -> tuple[float, int, bool]:
        """(p99 latency of the kind with no fault, samples, whether recovery phases counted)."""
        base = [r["latency"] for r in traffic if r["kind"] == kind and r["phase"] == "baseline"
                and r["ok"]]
        if len(base) >= MIN_BASELINE:
            return pct(base, .99), len(base), False
        calm = [r["latency"] for r in traffic if r["kind"] == kind and r["ok"]
                and (r["phase"] == "baseline" or r["phase"] in recovery_phases)]
        return (pct(calm, .99) if calm else 0.0), len(calm), True

    out(f"### Per outage and request kind: latency against the target and the deadline")
    out("")
    out(f"Target (issue 12 item 3): with one dependency hung, no request takes more than "
        f"{NORMAL_SLACK:g} s beyond its normal time — here a kind's **normal** is its p99 in the "
        f"baseline (with no fault; † fewer than {MIN_BASELINE} baseline samples: the baseline "
        f"and the recovery phases) — and every request answers, from a fallback or the "
        f"envelope's `503`. The contract checked (exit 3): every request answered within the "
        f"deadline + {DEADLINE_SLACK:g} s = **{limit:g} s** (`REQUEST_TIMEOUT_MS` "
        f"{DEADLINE * 1000:.0f}, client-side latency).")
    out("")
    out("| outage | kind | requests | ok | errors | normal (p99) | worst | ≤ normal + 1 s | "
        f"≤ {limit:g} s | the worst request, from the server log |")
    out("| --- | --- | ---: | ---: | --- | ---: | ---: | --- | --- | --- |")
    verdicts = []
    for f in faults:
        rs = [r for r in server if r["phase"] == f["outage_phase"]]
        kinds = defaultdict(list)
        for r in rs:
            kinds[r["kind"]].append(r)
        meet, miss, late_kinds = [], [], []
        for kind in sorted(kinds):
            ks = kinds[kind]
            errs = Counter(f"{r['status'] or ''} {r['code']}".strip() for r in ks if not r["ok"])
            worst = max(ks, key=lambda r: (r["status"] == 0, r["latency"]))
            normal, n, wide = normal_of(kind)
            answered = all(r["status"] for r in ks)
            within_target = answered and worst["latency"] <= normal + NORMAL_SLACK
            within_deadline = answered and max(r["latency"] for r in ks) <= limit
            (meet if within_target else miss).append((kind, worst, normal))
            if not within_deadline:
                late_kinds.append(kind)
            why = explain(worst, log_index, warns) if not within_target or not within_deadline \
                else ""
            out(f"| {f['outage_phase']} | {kind} | {len(ks)} | {sum(r['ok'] for r in ks)} | "
                + (", ".join(f"`{k}` × {n_}" for k, n_ in errs.most_common()) or "–")
                + f" | {ms(normal)}{' †' if wide else ''} | "
                + (f"{ms(worst['latency'])}" if worst["status"] else
                   f"no answer ({worst['code']}, {ms(worst['latency'])})")
                + f" | {'yes' if within_target else '**no**'} | "
                + f"{'yes' if within_deadline else '**NO**'} | "
                + (f"`{worst['request_id']}` {worst['method']} {worst['path'][:40]}: {why}"
                   if why else "") + " |")
        verdicts.append((f, rs, meet, miss, late_kinds))
    out("")
    out("**Verdict per outage**:")
    out("")
    for f, rs, meet, miss, late_kinds in verdicts:
        answered = sum(1 for r in rs if r["status"])
        in_time = sum(1 for r in rs if r["status"] and r["latency"] <= limit)
        worst = max((r["latency"] for r in rs), default=0.0)
        line = (f"- **{f['outage_phase']}** ({len(rs)} requests, {answered} answered, "
                f"{in_time} within {limit:g} s; worst {ms(worst)}): "
                + ("contract **met**" if not late_kinds else
                   f"contract **BREACHED** by {', '.join(late_kinds)}")
                + "; target (normal + 1 s) "
                + (f"met by every kind ({len(meet)})" if not miss else
                   f"met by {len(meet)} kind(s)"
                   + (f" ({', '.join(k for k, _, _ in meet)})" if meet else "")
                   + ", missed by " + ", ".join(
                       f"{k} ({ms(w['latency'])} vs {ms(nm + NORMAL_SLACK)})"
                       for k, w, nm in miss))
                + ".")
        out(line)
    out("")
    # every request (outage or not, health probes included) must be answered by the deadline
    late = [r for r in recs if r["kind"] != "s3_put"
            and (not r["status"] or r["latency"] > limit)]
    if late:
        by = Counter(f"{r['phase']}: {r['method']} {r['kind']} "
                     + ("no answer (" + r["code"] + ")" if not r["status"] else
                        f"{r['status']} after > {limit:g} s") for r in late)
        breaches.append(f"{len(late)} request(s) not answered within the deadline + "
                        f"{DEADLINE_SLACK:g} s ({limit:g} s): "
                        + ", ".join(f"{k} × {n_}" for k, n_ in by.most_common(8)))

    # ---- recovery
    out("### Recovery (seconds after the dependency was resumed / restarted)")
    out("")
    out("| fault | outage | restore took | health reports it ok | first success of each kind "
        "that failed during the outage | all kinds recovered | product outbox entries written in "
        "the outage | order outbox entries written in the outage |")
    out("| --- | ---: | ---: | ---: | --- | ---: | --- | --- |")
    for f in faults:
        back = f["back"]
        failed_kinds = sorted({r["kind"] for r in server
                               if r["phase"] == f["outage_phase"] and not r["ok"]})
        firsts = {}
        for kind in failed_kinds:
            ok = [r["end"] - back for r in server
                  if r["kind"] == kind and r["start"] >= back and r["ok"]]
            firsts[kind] = min(ok) if ok else None
        hkey = HEALTH_KEY[f["dep"]]
        hok = [h["end"] - back for h in health
               if h["start"] >= back and h["checks"].get(hkey) == "ok"]
        health_s = min(hok) if hok else None
        values = [x for x in firsts.values()]
        if any(x is None for x in values) or health_s is None:
            breaches.append(f"no recovery after {f['spec']}: "
                            + ", ".join(k for k, x in firsts.items() if x is None)
                            + ("" if health_s is not None else " health"))
        all_s = max([x for x in values if x is not None] + [health_s or 0])
        cells = []
        for agg in ("product", "order"):
            o = f.get("outbox", {}).get(agg)
            if not o:
                cells.append("–")
                continue
            when = ("**not all applied**" if o["pending"] else
                    f"last applied {o['last'] - f['back_wall']:+.1f} s")
            cells.append(f"{o['n']} ({o['relayed']} by the relay), {when}")
        out(f"| {f['spec']} | {OUTAGE:g} s | {f['restore_s']:.1f} s | "
            + (f"{health_s:.1f} s" if health_s is not None else "**never**") + " | "
            + (", ".join(f"{k} {x:.1f} s" if x is not None else f"{k} **never**"
                         for k, x in firsts.items()) or "nothing failed") + " | "
            + (f"{all_s:.1f} s" if all(x is not None for x in values) else "**no**") + " | "
            + " | ".join(cells) + " |")
    out("")

    # ---- idempotent retries
    out("### Idempotent retries of the writes that got no answer")
    out("")
    out("Every `POST /v1/products` and `POST /v1/orders` that timed out or got a 503 was sent "
        "again with the same `Idempotency-Key` and body after the settle phase (and once more "
        f"after the {LEASE:g} s lease for keys still in progress).")
    out("")
    if tries:
        out("| request | first answer | round | retry answer | count | contract |")
        out("| --- | --- | ---: | --- | ---: | --- |")
        outcomes = Counter()
        broken = defaultdict(list)
        for r in tries:
            what, bad = classify_retry(r)
            outcomes[(r["what"], r["first_code"], r["round"], what, bad)] += 1
            if bad:
                broken[(r["what"], what)].append(r)
        for (w, what), rs in broken.items():
            breaches.append(f"{len(rs)} idempotent retr{'y' if len(rs) == 1 else 'ies'} of "
                            f"`POST /v1/{'products' if w == 'create' else 'orders'}`: {what} "
                            "(e.g. first request `" + rs[0]["first_request_id"] + "`, key `"
                            + rs[0]["key"] + "`)")
        for (w, first, rnd, what, bad), n in sorted(outcomes.items()):
            label = "`POST /v1/products`" if w == "create" else "`POST /v1/orders`"
            out(f"| {label} | {first} | {rnd} | {what} | {n} | {'**broken**' if bad else 'ok'} |")
    else:
        out("Nothing to retry.")
    out("")

    # ---- breaches and evidence
    if n_500:
        fatal.append(f"{n_500} HTTP 500 answer(s)")
    lost = (acked - found) + len(v["stale"])
    if lost:
        fatal.append(f"{acked - found} acknowledged write(s) missing, {len(v['stale'])} not "
                     "(or not equal) in the projection")
    if over:
        breaches.append(f"{len(over)} request(s) answered after the {TIMEOUT:g} s client timeout")
    if unexpected:
        breaches.append(f"{len(unexpected)} unexpected status(es)")
    calm = [r for r in server if r["phase"] == "baseline" and not r["ok"]]
    if calm:
        breaches.append(f"{len(calm)} failed request(s) in the baseline, with no fault injected: "
                        + ", ".join(f"{k} × {n}" for k, n in Counter(
                            f"{r['method']} {r['kind']} → {r['status'] or ''} {r['code']}"
                            for r in calm).most_common()))
    if v["not_final"]:
        breaches.append(f"{len(v['not_final'])} order(s) not in a final status after the settle")
    if v["images_pending"]:
        breaches.append(f"{len(v['images_pending'])} uploaded image(s) still pending after the "
                        "settle")
    if v["backlog"]:
        breaches.append(f"the products' outbox still holds {v['backlog']} entries")
    out("### Verdict")
    out("")
    if not fatal and not breaches:
        out("No acknowledged write lost, no 500, every request answered within the deadline + "
            f"{DEADLINE_SLACK:g} s, every dependency recovered.")
    for x in fatal:
        out(f"- **FAIL**: {x}")
    for x in breaches:
        out(f"- **BREACH**: {x}")
    for x in ([text for _, _, text in v["problems"]] + v["stale"])[:20]:
        out(f"  - {x}")
    if v["not_final"]:
        out("  - orders not final: " + ", ".join(
            f"{o} ({v['pg_orders'][o]['status']})" for o in v["not_final"][:20]))
    if v["images_pending"]:
        out("  - images pending: " + ", ".join(v["images_pending"][:10]))
    evidence = [r for r in recs if r["kind"] != "s3_put" and (
        r["status"] == 500 or not r["status"] or r["latency"] > DEADLINE + DEADLINE_SLACK)] + [
        r for r in unexpected + calm if r["status"]]
    evidence = list({r["request_id"] or id(r): r for r in evidence}.values())  # once each
    if evidence:
        out("")
        out("Requests behind the findings (server side: the `request completed` log line of "
            "the same `x-request-id`):")
        out("")
        out("| phase | request | client saw | after | x-request-id | server logged |")
        out("| --- | --- | --- | ---: | --- | --- |")
        shown = Counter()
        for r in evidence:
            key = (r["phase"], r["kind"], r["status"], r["code"])
            shown[key] += 1
            if shown[key] > 3:
                continue
            srv = log_index.get(r["request_id"], {})
            if "status" in srv:
                srv_text = explain(r, log_index, warns)
            else:
                srv_text = "no `request completed` line (handler dropped on disconnect)" + (
                    f"; last line naming it: `{srv['last']}`" if srv.get("last") else "")
            seen = f"{r['status'] or ''} {r['code']}".strip()
            out(f"| {r['phase']} | {r['method']} {r['path'][:60]} | {seen} | {ms(r['latency'])} | "
                f"`{r['request_id']}` | {srv_text} |")
        hidden = sum(n - 3 for n in shown.values() if n > 3)
        if hidden:
            out(f"\n(and {hidden} more of the same kinds; all in requests.jsonl)")
    out("")
    text = "\n".join(lines)
    code = 1 if fatal else (3 if breaches else 0)
    return text, code


# --------------------------------------------------------------------------- main

def main() -> int:
    log(f"run {RUN}: {BASE_URL}, faults {FAULTS}, outage {OUTAGE:g} s, recovery {RECOVERY:g} s")
    checkout_threads, per_thread = 2, 3
    admin, users = setup(checkout_threads * per_thread)
    log(f"setup done: {len(STATE.products)} products, {len(users)} customers")
    threads = [threading.Thread(target=browse_worker, args=(i,), daemon=True) for i in range(3)]
    threads += [threading.Thread(target=writer_worker, args=(w, admin), daemon=True)
                for w in range(2)]
    threads.append(threading.Thread(target=upload_worker, args=(admin,), daemon=True))
    threads.append(threading.Thread(target=probe_worker, args=(admin,), daemon=True))
    threads += [threading.Thread(target=checkout_worker,
                                 args=(i, users[i * per_thread:(i + 1) * per_thread]),
                                 daemon=True) for i in range(checkout_threads)]
    threads.append(threading.Thread(target=health_worker, daemon=True))
    TIMELINE.enter("baseline")
    for t in threads:
        t.start()
    faults: list[dict] = []
    failure = ""
    try:
        run_faults(faults)
    except (RuntimeError, subprocess.SubprocessError) as e:
        failure = str(e)
        log(f"fault injection failed: {failure}; restoring everything and reporting")
        subprocess.run(["bash", SOAK_SH, "fault", "resume-all"], timeout=60)
    finally:
        STOP.set()
        for t in threads:
            t.join(TIMEOUT + 5)
    log(f"traffic done: {len(RECORDS.items)} requests; verifying")
    v = verify()
    outbox_per_fault(faults)
    tries = retries(v)
    # The raw records first: they are the evidence even if the report fails.
    if RAW_DIR:
        os.makedirs(RAW_DIR, exist_ok=True)
        with open(os.path.join(RAW_DIR, "requests.jsonl"), "w") as fh:
            for r in RECORDS.items:
                fh.write(json.dumps(r) + "\n")
        with open(os.path.join(RAW_DIR, "timeline.json"), "w") as fh:
            json.dump({"phases": list(zip(TIMELINE.times, TIMELINE.names)),
                       "faults": faults, "health": STATE.health},
                      fh, indent=1)
    text, code = report([f for f in faults if "back" in f], v, tries)
    if RAW_DIR:  # again, with the phases as the report counts them (in flight = in the outage)
        with open(os.path.join(RAW_DIR, "requests.jsonl"), "w") as fh:
            for r in RECORDS.items:
                fh.write(json.dumps(r) + "\n")
    if failure:
        text += f"\n**The fault injection failed**: {failure}\n"
        code = 2
    print(text)
    if REPORT:
        with open(REPORT, "w") as fh:
            fh.write(text + "\n")
    if SERVER_PID:
        try:
            os.kill(int(SERVER_PID), 0)
        except OSError:
            log("the server process died during the soak")
            return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
