"""Load scenario for the hot paths: browse → product page → cart → checkout.

Run by scripts/bench/load.sh (headless, bounded, in its own venv with a pinned Locust); by hand:

    .venv-locust/bin/locust -f scripts/bench/locustfile.py --host http://127.0.0.1:8080 \
        --headless -u 20 -r 5 -t 60s --csv /tmp/load

Before the users start, the dev admin (LOAD_ADMIN_EMAIL / LOAD_ADMIN_PASSWORD, falling back to
LOCAL_ADMIN_EMAIL / LOCAL_ADMIN_PASSWORD from the stack's env, then the README's defaults) creates
LOAD_PRODUCTS products of this run (unique SKUs, whole-dollar prices so that no total ends in
.13 — the simulated provider declines those — and LOAD_STOCK units each), spread over three
categories, and waits until each is readable. Each simulated user signs up
(POST /v1/users/register; the local stack auto-confirms) and signs in, one user at a time
(moto's Cognito is not safe under concurrent sign-ups), then runs weighted tasks with
LOAD_WAIT_MIN..LOAD_WAIT_MAX seconds of think time between them (weights in brackets, of 19):

    browse [8]    GET /v1/products?limit=20 [4], ?category=… [2], ?q=… (a 3+ letter word of
                  the names) [2]
    product [6]   GET /v1/products/{id} (an id from the user's last listing, else a seeded one)
    cart [4]      POST /v1/cart/items (one unit of a seeded product) [2], GET /v1/cart [2]
    checkout [1]  POST /v1/cart/items (counted in the cart row), POST /v1/orders (a fresh
                  Idempotency-Key, expects 202), then GET /v1/orders/{id} every LOAD_POLL_MS
                  until the order leaves PENDING;
                  the whole wait is reported as its own row, "checkout → CONFIRMED" (from the
                  POST being sent to CONFIRMED being seen; FAILED, CANCELLED or still PENDING
                  after LOAD_CONFIRM_TIMEOUT seconds is a failure of that row)

Every request is named by its step ("2 product page", …) so Locust's CSV has one row per step,
in the order of the flow.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import sys
import time
import uuid

import gevent
import locust.stats
import requests
from gevent.lock import Semaphore
from locust import HttpUser, between, events, task
from locust.exception import StopUser
from locust.runners import MasterRunner


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


RUN_ID = os.environ.get("LOAD_RUN_ID") or f"{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}"
PRODUCTS = env_int("LOAD_PRODUCTS", 12)
STOCK = env_int("LOAD_STOCK", 1_000_000)
POLL = env_int("LOAD_POLL_MS", 100) / 1000
CONFIRM_TIMEOUT = env_float("LOAD_CONFIRM_TIMEOUT", 60)
WAIT_MIN = env_float("LOAD_WAIT_MIN", 0.5)
WAIT_MAX = env_float("LOAD_WAIT_MAX", 2.0)
ADMIN_EMAIL = (os.environ.get("LOAD_ADMIN_EMAIL") or os.environ.get("LOCAL_ADMIN_EMAIL")
               or "admin@example.com")
ADMIN_PASSWORD = (os.environ.get("LOAD_ADMIN_PASSWORD") or os.environ.get("LOCAL_ADMIN_PASSWORD")
                  or "Admin-Passw0rd!")
PASSWORD = "Load-Passw0rd!"

# Names of the seeded products: "<adjective> <noun>"; searches use the nouns (3+ letters).
ADJECTIVES = ["Blue", "Oak", "Steel", "Linen", "Copper", "Green"]
NOUNS = ["mug", "lamp", "kettle", "chair", "towel", "bowl"]
CATEGORIES = ["load-kitchen", "load-garden", "load-books"]

# Step names: the CSV (sorted by name) lists them in the order of the flow.
SIGN_UP = "0 sign-up /v1/users/register"
SIGN_IN = "0 sign-in /v1/users/login"
BROWSE = "1 browse /v1/products?limit=20"
BROWSE_CATEGORY = "1 browse /v1/products?category=…&limit=20"
BROWSE_SEARCH = "1 browse /v1/products?q=…&limit=20"
PRODUCT_PAGE = "2 product page /v1/products/{id}"
CART_ADD = "3 cart /v1/cart/items"
CART_VIEW = "3 cart /v1/cart"
CHECKOUT = "4 checkout /v1/orders"
CHECKOUT_POLL = "4 checkout /v1/orders/{id} (poll)"
CONFIRMED = "5 checkout → CONFIRMED"

log = logging.getLogger("load")
seeded: list[int] = []
user_numbers = itertools.count(1)
# One sign-up at a time: moto's Cognito emulator is not safe under concurrent sign-ups.
signup_lock = Semaphore()


def fail(resp) -> None:
    """Marks a response failed, grouped by status and API error code (the message and request
    id vary per request; the full body goes to the log)."""
    if not resp.status_code:
        resp.failure(f"no response: {type(getattr(resp, 'error', None)).__name__}")
        return
    try:
        code = resp.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = "(no error envelope)"
    log.warning("%s %s → %s %s", resp.request.method if resp.request else "?",
                resp.request.path_url if resp.request else "?", resp.status_code, resp.text[:300])
    resp.failure(f"HTTP {resp.status_code} {code}")


# --------------------------------------------------------------------------- seeding


def seed_products(host: str) -> list[int]:
    """The dev admin creates this run's products; returns their ids once all are readable."""
    http = requests.Session()
    resp = http.post(f"{host}/v1/users/login",
                     json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, timeout=30)
    if resp.status_code != 200:
        raise RuntimeError(f"admin login as {ADMIN_EMAIL}: {resp.status_code} {resp.text[:300]}")
    admin = {"authorization": f"Bearer {resp.json()['access_token']}"}
    ids = []
    for i in range(PRODUCTS):
        sku = f"LOAD-{RUN_ID}-{i}"
        body = {
            "sku": sku,
            "name": f"{ADJECTIVES[i % len(ADJECTIVES)]} {NOUNS[i % len(NOUNS)]} {i}",
            "description": "Seeded by scripts/bench/locustfile.py",
            "price": f"{5 + 3 * i}.00",  # whole dollars: no total ends in .13 (declined)
            "category": CATEGORIES[i % len(CATEGORIES)],
            "stock": STOCK,
        }
        resp = http.post(f"{host}/v1/products", json=body, timeout=30,
                         headers={**admin, "idempotency-key": f"load-{sku}"})
        if resp.status_code not in (200, 201):
            raise RuntimeError(f"creating {sku}: {resp.status_code} {resp.text[:300]}")
        ids.append(resp.json()["product_id"])
    # Carts price lines from the catalogue projection: wait until every product is readable.
    deadline = time.monotonic() + 30
    for product_id in ids:
        while http.get(f"{host}/v1/products/{product_id}", timeout=10).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"product {product_id} not readable after 30 s")
            time.sleep(0.1)
    return ids


@events.init.add_listener
def on_init(environment, **_kwargs):
    if isinstance(environment.runner, MasterRunner):
        return  # the master runs no users
    host = (environment.host or "").rstrip("/")
    if not host:
        log.error("no host: pass --host (scripts/bench/load.sh passes BASE_URL)")
        sys.exit(2)
    try:
        seeded.extend(seed_products(host))
    except (requests.RequestException, RuntimeError, KeyError, ValueError) as err:
        log.error("seeding products failed: %s", err)
        sys.exit(2)
    log.warning("run %s: seeded products %s (stock %d each)", RUN_ID, seeded, STOCK)


@events.test_stop.add_listener
def on_test_stop(**_kwargs):
    # Locust rewrites its CSV every CSV_STATS_INTERVAL_SEC and not again at exit: wait for one
    # more write so that the CSV holds the requests finished during --stop-timeout too.
    gevent.sleep(locust.stats.CSV_STATS_INTERVAL_SEC + 0.5)


# --------------------------------------------------------------------------- the shopper


class Shopper(HttpUser):
    wait_time = between(WAIT_MIN, WAIT_MAX)

    def on_start(self):
        n = next(user_numbers)
        email = f"load-{RUN_ID}-{n}@example.com"
        self.auth = {}
        self.seen: list[int] = []
        with signup_lock:
            token = self.sign_up(n, email)
        if not token:
            # A user without a session would only produce 401s: stop it (the failure is recorded).
            raise StopUser()
        self.auth = {"authorization": f"Bearer {token}"}

    def sign_up(self, n: int, email: str) -> str | None:
        with self.client.post("/v1/users/register", name=SIGN_UP, catch_response=True,
                              json={"name": f"Load {n}", "email": email,
                                    "password": PASSWORD}) as resp:
            if resp.status_code not in (200, 201):
                fail(resp)
                return None
        with self.client.post("/v1/users/login", name=SIGN_IN, catch_response=True,
                              json={"email": email, "password": PASSWORD}) as resp:
            token = resp.json().get("access_token") if resp.status_code == 200 else None
            if not token:
                fail(resp)
            return token

    # ---- helpers

    def get_json(self, path: str, name: str, headers=None):
        with self.client.get(path, name=name, headers=headers, catch_response=True) as resp:
            if resp.status_code != 200:
                fail(resp)
                return None
            return resp.json()

    def listing(self, query: str, name: str):
        page = self.get_json(f"/v1/products?{query}", name)
        if page is not None:
            ids = [item["product_id"] for item in page.get("items", [])]
            if ids:
                self.seen = ids

    def add_to_cart(self) -> bool:
        body = {"product_id": random.choice(seeded), "quantity": 1}
        with self.client.post("/v1/cart/items", name=CART_ADD, json=body, headers=self.auth,
                              catch_response=True) as resp:
            if resp.status_code != 200:
                fail(resp)
                return False
            return True

    # ---- browse (mostly)

    @task(4)
    def browse(self):
        self.listing("limit=20", BROWSE)

    @task(2)
    def browse_category(self):
        self.listing(f"category={random.choice(CATEGORIES)}&limit=20", BROWSE_CATEGORY)

    @task(2)
    def browse_search(self):
        self.listing(f"q={random.choice(NOUNS)}&limit=20", BROWSE_SEARCH)

    # ---- product page

    @task(6)
    def product_page(self):
        product_id = random.choice(self.seen or seeded)
        self.get_json(f"/v1/products/{product_id}", PRODUCT_PAGE)

    # ---- cart (some)

    @task(2)
    def cart_add(self):
        self.add_to_cart()

    @task(2)
    def cart_view(self):
        self.get_json("/v1/cart", CART_VIEW, headers=self.auth)

    # ---- checkout (fewer)

    @task(1)
    def checkout(self):
        # Never check out an empty cart (the saga empties it after an earlier CONFIRMED).
        if not self.add_to_cart():
            return
        started = time.perf_counter()
        headers = {**self.auth, "idempotency-key": str(uuid.uuid4())}
        with self.client.post("/v1/orders", name=CHECKOUT, json={}, headers=headers,
                              catch_response=True) as resp:
            if resp.status_code != 202:
                fail(resp)
                return
            order = resp.json()
        order_id, status, reason = order["order_id"], order["status"], None
        while status == "PENDING" and time.perf_counter() - started < CONFIRM_TIMEOUT:
            time.sleep(POLL)  # gevent-patched: yields to the other users
            polled = self.get_json(f"/v1/orders/{order_id}", CHECKOUT_POLL, headers=self.auth)
            if polled is not None:
                status, reason = polled["status"], polled.get("failure_reason")
        elapsed_ms = (time.perf_counter() - started) * 1000
        if status == "CONFIRMED":
            error = None
        elif status == "PENDING":
            error = RuntimeError(f"order still PENDING after {CONFIRM_TIMEOUT:g} s")
        else:
            error = RuntimeError(f"order {status}: {reason}")
        self.environment.events.request.fire(
            request_type="SAGA", name=CONFIRMED, response_time=elapsed_ms, response_length=0,
            exception=error, context={})
