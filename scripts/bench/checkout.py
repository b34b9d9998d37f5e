#!/usr/bin/env python3
"""Checkout benchmark: the saga end to end through the HTTP API (standard library only).

Run by scripts/bench/checkout.sh, which starts the stack and a server; alone:

    BASE_URL=http://127.0.0.1:8080 LOCAL_ADMIN_EMAIL=… LOCAL_ADMIN_PASSWORD=… \
        python3 scripts/bench/checkout.py

Phases (every user and product is new, named after a run id, so runs never collide):

1. throughput: first BENCH_BASELINE (5) checkouts one at a time by one customer (unloaded
   latency); then BENCH_CUSTOMERS customers (default 20) each put 1 unit of one product with
   plenty of stock in their cart, then all check out at once (POST /v1/orders, Idempotency-Key);
   each order is polled (GET /v1/orders/{id}) every BENCH_POLL_MS (50) until it leaves PENDING.
   A round ends when every order is terminal; rounds repeat up to BENCH_ROUNDS (5) or until
   BENCH_DURATION seconds (60) have been spent in rounds. Between rounds each customer's cart
   must be empty again (the saga's last step) before the next item is added, so the saga's
   EmptyCart never removes the next round's item. Reports checkouts/s (confirmed orders over
   the time from the first POST to the last CONFIRMED, per round), the POST latency and the
   202 → CONFIRMED time (p50/p95/p99/max; 50 ms polling granularity), the per-step timings
   from each order's events, and the CPU seconds the server, moto, PostgreSQL and Redis used.
2. contention: BENCH_RACERS customers (12) race for BENCH_UNITS units (5) of a fresh product,
   1 unit each, BENCH_CONTENTION_ROUNDS times (10). Exactly BENCH_UNITS orders must end
   CONFIRMED, the rest FAILED with failure_reason insufficient_stock, and the product's
   stock.available (GET /v1/products/{id}, polled until the projection catches up, at most
   BENCH_STOCK_WAIT seconds, default 5) must be 0; with psql and DATABASE_URL, Postgres'
   product_inventory row is checked too (stock - reserved = 0, stock >= 0).

Exit status: 0 all good; 1 a wrong contention result; 2 throughput orders that did not confirm
(FAILED, timed out, HTTP errors) or a setup failure. The whole run is bounded by BENCH_MAX_SECONDS
(900), each order by BENCH_ORDER_TIMEOUT (150 s: longer than one step's 120 s timeout).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from shop_http import ADMIN_EMAIL, ADMIN_PASSWORD, BASE_URL, env_float, env_int, request  # noqa: E402

CUSTOMERS = env_int("BENCH_CUSTOMERS", 20)
ROUNDS = env_int("BENCH_ROUNDS", 5)
DURATION = env_float("BENCH_DURATION", 60)
POLL = env_int("BENCH_POLL_MS", 50) / 1000
RACERS = env_int("BENCH_RACERS", 12)
UNITS = env_int("BENCH_UNITS", 5)
CONTENTION_ROUNDS = env_int("BENCH_CONTENTION_ROUNDS", 10)
ORDER_TIMEOUT = env_float("BENCH_ORDER_TIMEOUT", 150)
STOCK_WAIT = env_float("BENCH_STOCK_WAIT", 5)
MAX_SECONDS = env_float("BENCH_MAX_SECONDS", 900)
PHASES = os.environ.get("BENCH_PHASES", "throughput contention").split()
SERVER_PID = os.environ.get("BENCH_SERVER_PID", "")
MOTO_PID = os.environ.get("BENCH_MOTO_PID", "")
MOTO_LOG = os.environ.get("BENCH_MOTO_LOG", "")
BASELINE = env_int("BENCH_BASELINE", 5)
DATABASE_URL = os.environ.get("DATABASE_URL", "")

RUN_ID = time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]
START = time.monotonic()
TERMINAL = {"CONFIRMED", "FAILED", "CANCELLED", "SHIPPED", "DELIVERED"}
PASSWORD = "Bench-Passw0rd!"


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class Deadline(Exception):
    pass


def check_deadline() -> None:
    if time.monotonic() - START > MAX_SECONDS:
        raise Deadline(f"BENCH_MAX_SECONDS={MAX_SECONDS:g} exceeded")


# --------------------------------------------------------------------------- HTTP


class HttpError(Exception):
    def __init__(self, method: str, path: str, status: int, body: str):
        super().__init__(f"{method} {path} -> {status}: {body[:300]}")
        self.status = status
        self.body = body


ERRORS: Counter[str] = Counter()  # "METHOD route status" -> count (unexpected answers)
CALLS: Counter[str] = Counter()  # "METHOD route" -> count (every request this script made)
ERRORS_LOCK = threading.Lock()


def route_of(path: str) -> str:
    parts = [("{id}" if p.isdigit() else p) for p in path.split("?")[0].split("/")]
    return "/".join(parts)


def call(method: str, path: str, body=None, token: str | None = None, headers=None,
         expect=(200,), timeout: float = 30):
    """One request; returns (status, parsed JSON or None, seconds). Raises HttpError when the
    status is not in `expect` (and counts it in ERRORS)."""
    answer = request(method, BASE_URL + path, body=body, token=token, headers=headers,
                     timeout=timeout)
    status, text, elapsed = answer.status, answer.text, answer.seconds
    with ERRORS_LOCK:
        CALLS[f"{method} {route_of(path)}"] += 1
    if status not in expect:
        with ERRORS_LOCK:
            ERRORS[f"{method} {route_of(path)} {status or 'no answer'}"] += 1
        raise HttpError(method, path, status, text)
    return status, answer.json(), elapsed


def retry(fn, attempts: int = 5, delay: float = 0.5, retry_on=(0, 404, 429, 500, 502, 503)):
    for attempt in range(attempts):
        try:
            return fn()
        except HttpError as err:
            if err.status not in retry_on or attempt == attempts - 1:
                raise
            time.sleep(delay * (attempt + 1))
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- setup


def login(email: str, password: str) -> str:
    _, body, _ = retry(lambda: call("POST", "/v1/users/login",
                                    {"email": email, "password": password}))
    return body["access_token"]


SIGNUP_SECONDS: list[float] = []


def make_customers(count: int, tag: str) -> list[str]:
    """Signs up `count` customers one at a time (moto's Cognito is not thread-safe) and
    returns their access tokens."""
    tokens = []
    for i in range(count):
        email = f"bench-{RUN_ID}-{tag}-{i}@example.com"
        t0 = time.monotonic()
        retry(lambda: call("POST", "/v1/users/register",
                           {"name": f"Bench {tag} {i}", "email": email, "password": PASSWORD},
                           expect=(200, 201)))
        tokens.append(login(email, PASSWORD))
        SIGNUP_SECONDS.append(time.monotonic() - t0)
    return tokens


def make_product(admin: str, sku: str, stock: int, price: str) -> int:
    _, body, _ = retry(lambda: call(
        "POST", "/v1/products",
        {"sku": sku, "name": f"Bench {sku}", "price": price, "category": "bench", "stock": stock},
        token=admin, headers={"idempotency-key": f"bench-{sku}"}, expect=(200, 201)))
    product_id = body["product_id"]
    # Carts price lines from the catalogue: wait until the product is readable.
    retry(lambda: call("GET", f"/v1/products/{product_id}"), attempts=20, delay=0.1)
    return product_id


def empty_cart(token: str, timeout: float = 30, every: float = 0.2) -> float:
    """Waits until the caller's cart is empty (the saga empties it last); returns the wait."""
    t0 = time.monotonic()
    while True:
        _, cart, _ = call("GET", "/v1/cart", token=token)
        if not cart["items"]:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"cart still holds {cart['items']} after {timeout:g}s")
        time.sleep(every)


def add_to_cart(token: str, product_id: int) -> None:
    retry(lambda: call("POST", "/v1/cart/items", {"product_id": product_id, "quantity": 1},
                       token=token), retry_on=(0, 404, 503))


# --------------------------------------------------------------------------- one checkout


class Checkout:
    """One customer's checkout: POST, then poll until the order leaves PENDING."""

    def __init__(self, token: str):
        self.token = token
        self.order_id: int | None = None
        self.post_sent = self.accepted = self.done = 0.0
        self.post_seconds = 0.0
        self.status = "NOT_PLACED"
        self.failure_reason: str | None = None
        self.error: str | None = None
        self.polls = 0

    def run(self, barrier: threading.Barrier) -> "Checkout":
        barrier.wait()
        try:
            self.post_sent = time.monotonic()
            _, order, self.post_seconds = call(
                "POST", "/v1/orders", {}, token=self.token,
                headers={"idempotency-key": str(uuid.uuid4())}, expect=(202,))
            self.accepted = time.monotonic()
            self.order_id = order["order_id"]
            self.status = order["status"]
            while self.status not in TERMINAL:
                if time.monotonic() - self.accepted > ORDER_TIMEOUT:
                    self.error = f"still {self.status} after {ORDER_TIMEOUT:g}s"
                    self.status = "TIMED_OUT"
                    break
                time.sleep(POLL)
                try:
                    _, order, _ = call("GET", f"/v1/orders/{self.order_id}", token=self.token)
                except HttpError as err:  # counted in ERRORS; keep polling
                    self.error = str(err)
                    continue
                self.polls += 1
                self.status = order["status"]
                self.failure_reason = order.get("failure_reason")
            self.done = time.monotonic()
        except HttpError as err:
            self.error = str(err)
            self.status = f"HTTP_{err.status}"
            self.done = time.monotonic()
        return self

    @property
    def latency(self) -> float:
        return self.done - self.accepted


def race(tokens: list[str]) -> list[Checkout]:
    """All customers check out at once; returns when every order is terminal."""
    barrier = threading.Barrier(len(tokens))
    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        return list(pool.map(lambda c: c.run(barrier), [Checkout(t) for t in tokens]))


# --------------------------------------------------------------------------- statistics


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def ms(seconds: float) -> str:
    return "–" if seconds != seconds else f"{seconds * 1000:,.0f} ms".replace(",", " ")


def dist_row(name: str, values: list[float]) -> str:
    return (f"| {name} | {len(values)} | {ms(pct(values, 50))} | {ms(pct(values, 95))} | "
            f"{ms(pct(values, 99))} | {ms(max(values) if values else float('nan'))} |")


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_by_name(names: set[str]) -> float:
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    comm = f.read().strip()
            except OSError:
                continue
            if comm in names:
                total += cpu_seconds(int(entry))
    return total


def cpu_snapshot() -> dict[str, float]:
    snap = {}
    if SERVER_PID.isdigit():
        snap["server (local)"] = cpu_seconds(int(SERVER_PID))
    if MOTO_PID.isdigit():
        snap["moto"] = cpu_seconds(int(MOTO_PID))
    snap["postgres (all backends)"] = cpu_by_name({"postgres"})
    snap["redis"] = cpu_by_name({"redis-server"})
    snap["this load generator"] = cpu_seconds(os.getpid())
    try:
        with open("/proc/stat") as f:
            jiffies = [int(x) for x in f.readline().split()[1:]]
        busy = sum(jiffies[i] for i in (0, 1, 2, 5, 6))  # user nice system irq softirq
        snap["everything else on the machine"] = (
            busy / os.sysconf("SC_CLK_TCK") - sum(snap.values()))
    except (OSError, ValueError, IndexError):
        pass
    return snap


def moto_log_offset() -> int:
    try:
        return os.path.getsize(MOTO_LOG) if MOTO_LOG else -1
    except OSError:
        return -1


def moto_requests_since(offset: int) -> int | None:
    """Requests moto logged (one werkzeug line each) since the byte offset."""
    if offset < 0:
        return None
    try:
        with open(MOTO_LOG, "rb") as f:
            f.seek(offset)
            return sum(b'HTTP/1.1" ' in line for line in f)
    except OSError:
        return None


# --------------------------------------------------------------------------- phases


def order_steps(checkouts: list[Checkout]) -> dict[str, list[float]]:
    """Gaps between consecutive events of each confirmed order (GET …/events, oldest first),
    keyed 'previous → next'."""
    gaps: dict[str, list[float]] = defaultdict(list)

    def one(c: Checkout):
        try:
            _, body, _ = call("GET", f"/v1/orders/{c.order_id}/events", token=c.token)
        except HttpError:
            return []
        from datetime import datetime
        events = [(e["event_type"], datetime.fromisoformat(e["at"].replace("Z", "+00:00")))
                  for e in body["items"]]
        return [(f"{a[0]} → {b[0]}", (b[1] - a[1]).total_seconds())
                for a, b in zip(events, events[1:])]

    with ThreadPoolExecutor(max_workers=4) as pool:
        for pairs in pool.map(one, [c for c in checkouts if c.order_id]):
            for key, gap in pairs:
                gaps[key].append(gap)
    return gaps


def throughput(admin: str) -> tuple[list[str], bool]:
    out: list[str] = []
    log(f"throughput: signing up {CUSTOMERS} customers")
    tokens = make_customers(CUSTOMERS, "tp")
    product = make_product(admin, f"BENCH-TP-{RUN_ID}", 1_000_000, "9.99")
    log(f"throughput: product {product} (stock 1000000); up to {ROUNDS} rounds / {DURATION:g}s")

    # Unloaded: one customer, one checkout at a time.
    alone: list[Checkout] = []
    for _ in range(BASELINE):
        check_deadline()
        add_to_cart(tokens[0], product)
        alone += race(tokens[:1])
        if alone[-1].status == "CONFIRMED":
            empty_cart(tokens[0])
        else:
            call("DELETE", "/v1/cart", token=tokens[0], expect=(204,))
    if alone:
        log(f"throughput: {BASELINE} checkouts one at a time: 202 → CONFIRMED p50 "
            f"{ms(pct([c.latency for c in alone], 50))}")

    rounds: list[dict] = []
    all_checkouts: list[Checkout] = []
    cart_waits: list[float] = []
    moto_offset = moto_log_offset()
    cpu_before, cpu_t0 = cpu_snapshot(), time.monotonic()
    calls_before = CALLS.copy()
    spent = 0.0
    while len(rounds) < ROUNDS and (not rounds or spent < DURATION):
        check_deadline()
        with ThreadPoolExecutor(max_workers=min(8, len(tokens))) as pool:
            list(pool.map(lambda t: add_to_cart(t, product), tokens))
        checkouts = race(tokens)
        first = min(c.post_sent for c in checkouts)
        last = max(c.done for c in checkouts)
        confirmed = [c for c in checkouts if c.status == "CONFIRMED"]
        window = last - first
        spent += window
        rounds.append({"n": len(rounds) + 1, "window": window, "confirmed": len(confirmed),
                       "other": Counter(c.status + (f" ({c.failure_reason})" if c.failure_reason
                                                    else "") for c in checkouts
                                        if c.status != "CONFIRMED")})
        all_checkouts += checkouts
        log(f"throughput: round {len(rounds)}: {len(confirmed)}/{len(checkouts)} CONFIRMED "
            f"in {window:.2f}s ({len(confirmed) / window:.2f}/s)")
        # The saga empties the cart after CONFIRMED; wait for it before the next round, and
        # clear what a failed order left.
        def settle(c: Checkout) -> float | None:
            if c.status == "CONFIRMED":
                return empty_cart(c.token)
            call("DELETE", "/v1/cart", token=c.token, expect=(204,))
            return None

        with ThreadPoolExecutor(max_workers=min(8, len(tokens))) as pool:
            cart_waits += [w for w in pool.map(settle, checkouts) if w is not None]
    cpu_after, cpu_wall = cpu_snapshot(), time.monotonic() - cpu_t0
    calls = CALLS - calls_before
    moto_requests = moto_requests_since(moto_offset)

    confirmed = [c for c in all_checkouts if c.status == "CONFIRMED"]
    total_window = sum(r["window"] for r in rounds)
    out.append(f"### Throughput: {CUSTOMERS} customers checking out at once, "
               f"{len(rounds)} rounds\n")
    out.append("| round | checkouts | CONFIRMED | other outcomes | first POST → last CONFIRMED "
               "| checkouts/s |")
    out.append("| ---: | ---: | ---: | --- | ---: | ---: |")
    for r in rounds:
        other = ", ".join(f"{k} × {v}" for k, v in r["other"].items()) or "–"
        out.append(f"| {r['n']} | {CUSTOMERS} | {r['confirmed']} | {other} | "
                   f"{r['window']:.2f} s | {r['confirmed'] / r['window']:.2f} |")
    out.append(f"| **all** | {len(all_checkouts)} | {len(confirmed)} | "
               f"{len(all_checkouts) - len(confirmed)} not confirmed | {total_window:.2f} s | "
               f"**{len(confirmed) / total_window:.2f}** |")
    out.append("")
    out.append("| latency (confirmed orders) | n | p50 | p95 | p99 | max |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    alone_ok = [c for c in alone if c.status == "CONFIRMED"]
    if alone:
        out.append(dist_row("one at a time: `POST /v1/orders` → `202`",
                            [c.post_seconds for c in alone_ok]))
        out.append(dist_row("one at a time: `202` → `CONFIRMED`", [c.latency for c in alone_ok]))
    out.append(dist_row(f"{CUSTOMERS} at once: `POST /v1/orders` → `202`",
                        [c.post_seconds for c in confirmed]))
    out.append(dist_row(f"**{CUSTOMERS} at once: `202` → `CONFIRMED`** (polled every "
                        f"{POLL * 1000:.0f} ms)", [c.latency for c in confirmed]))
    out.append(dist_row("CONFIRMED seen → cart emptied (polled every 200 ms, after the round)",
                        cart_waits))
    out.append("")
    gaps = order_steps(confirmed)
    if gaps:
        out.append("Saga steps, from the `at` of consecutive `OrderEvents` of the confirmed "
                   "orders:\n")
        out.append("| step (event → next event) | n | p50 | p95 | p99 | max |")
        out.append("| --- | ---: | ---: | ---: | ---: | ---: |")
        for key, values in gaps.items():
            out.append(dist_row(key, values))
        out.append("")
    out.append(f"CPU seconds used from the first round's start to the last one's end "
               f"({cpu_wall:.1f} s: {total_window:.1f} s of rounds and the cart waits between "
               f"them; {os.cpu_count()} cores):\n")
    out.append("| process | CPU s | cores busy (avg) |")
    out.append("| --- | ---: | ---: |")
    wall = max(cpu_wall, 1e-9)
    for name, before in cpu_before.items():
        used = cpu_after.get(name, before) - before
        out.append(f"| {name} | {used:.1f} | {used / wall:.2f} |")
    out.append("")
    if moto_requests is not None and all_checkouts:
        moto_cpu = cpu_after.get("moto", 0) - cpu_before.get("moto", 0)
        out.append(f"moto served {moto_requests} HTTP requests meanwhile "
                   f"({moto_requests / len(all_checkouts):.0f} per checkout, "
                   f"{moto_requests / wall:.0f}/s"
                   + (f", {moto_cpu * 1000 / max(moto_requests, 1):.1f} ms of moto CPU per request"
                      if moto_cpu else "") + "; the Step Functions interpreter's own SQS, SNS "
                   "and DynamoDB calls run inside moto and are not counted). They include the "
                   "benchmark's own cart calls (each reads `UserCart`, and the catalogue on a "
                   "cache miss): " + ", ".join(f"`{k}` × {v}" for k, v in sorted(calls.items())
                                               if "/cart" in k) + ".\n")
    bad = [c for c in all_checkouts + alone if c.status != "CONFIRMED"]
    for c in bad[:10]:
        out.append(f"- not confirmed: order {c.order_id}: {c.status} "
                   f"{c.failure_reason or ''} {c.error or ''}".rstrip())
    if bad:
        out.append("")
    return out, not bad


def pg_inventory(product_id: int) -> tuple[int, int] | None:
    if not DATABASE_URL or not shutil.which("psql"):
        return None
    try:
        row = subprocess.run(
            ["psql", DATABASE_URL, "-XAtq", "-c",
             f"SELECT stock, reserved FROM product_inventory WHERE product_id = {int(product_id)}"],
            capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        stock, reserved = row.split("|")
        return int(stock), int(reserved)
    except (subprocess.SubprocessError, ValueError, OSError):
        return None


def contention(admin: str) -> tuple[list[str], bool]:
    out: list[str] = []
    log(f"contention: signing up {RACERS} customers")
    tokens = make_customers(RACERS, "race")
    out.append(f"### Contention: {RACERS} customers race for {UNITS} units (1 each), "
               f"{CONTENTION_ROUNDS} rounds\n")
    out.append("| round | CONFIRMED | FAILED insufficient_stock | other | stock.available (API) "
               "| Postgres stock / reserved | slowest order | result |")
    out.append("| ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |")
    all_ok = True
    latencies: list[float] = []
    errors: list[str] = []
    for n in range(1, CONTENTION_ROUNDS + 1):
        check_deadline()
        product = make_product(admin, f"BENCH-RACE-{RUN_ID}-{n}", UNITS, "7.50")
        with ThreadPoolExecutor(max_workers=min(8, len(tokens))) as pool:
            list(pool.map(lambda t: add_to_cart(t, product), tokens))
        checkouts = race(tokens)
        confirmed = sum(c.status == "CONFIRMED" for c in checkouts)
        short = sum(c.status == "FAILED" and c.failure_reason == "insufficient_stock"
                    for c in checkouts)
        other = Counter(c.status + (f" ({c.failure_reason})" if c.failure_reason else "")
                        for c in checkouts
                        if c.status != "CONFIRMED"
                        and not (c.status == "FAILED" and c.failure_reason == "insufficient_stock"))
        latencies += [c.latency for c in checkouts if c.accepted]
        # The projection (ProductCatalog, cache) follows Postgres: poll until it shows 0.
        t0 = time.monotonic()
        available = None
        while True:
            try:
                _, body, _ = call("GET", f"/v1/products/{product}")
                available = body["stock"]["available"]
            except HttpError:
                pass
            if available == 0 or time.monotonic() - t0 > STOCK_WAIT:
                break
            time.sleep(0.1)
        waited = time.monotonic() - t0
        inv = pg_inventory(product)
        problems = []
        if confirmed != UNITS:
            problems.append(f"{confirmed} CONFIRMED")
        if short != len(tokens) - UNITS or other:
            problems.append(f"{short} insufficient_stock")
        if available != 0:
            problems.append(f"API stock.available {available}")
        if inv is not None and (inv[0] < 0 or inv[0] - inv[1] != 0):
            problems.append(f"Postgres available {inv[0] - inv[1]}")
        ok = not problems
        all_ok &= ok
        other_s = ", ".join(f"{k} × {v}" for k, v in other.items()) or "–"
        inv_s = "–" if inv is None else f"{inv[0]} / {inv[1]}"
        avail_s = f"{available}" + (f" (after {waited:.1f} s)" if waited > 0.05 else "")
        slowest = max((c.latency for c in checkouts if c.accepted), default=float("nan"))
        out.append(f"| {n} | {confirmed} | {short} | {other_s} | {avail_s} | {inv_s} | "
                   f"{ms(slowest)} | {'ok' if ok else '**WRONG**: ' + ', '.join(problems)} |")
        log(f"contention: round {n}: {confirmed} CONFIRMED, {short} insufficient_stock, "
            f"other {dict(other)}, available {available}, pg {inv} -> {'ok' if ok else 'WRONG'}")
        errors += [f"- round {n}, order {c.order_id}: {c.error[:200]}" for c in checkouts if c.error]

        def settle(c: Checkout) -> None:
            if c.status == "CONFIRMED":
                empty_cart(c.token)
            else:
                call("DELETE", "/v1/cart", token=c.token, expect=(204,))

        with ThreadPoolExecutor(max_workers=min(8, len(tokens))) as pool:
            list(pool.map(settle, checkouts))
    out.append("")
    if errors:
        out += errors[:20] + [""]
    out.append("| latency (all orders of all rounds) | n | p50 | p95 | p99 | max |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    out.append(dist_row("`202` → terminal (CONFIRMED or FAILED)", latencies))
    out.append("")
    wrong = sum("**WRONG**" in line for line in out)
    out.append("Contention result: **correct** in every round" if all_ok else
               f"Contention result: **WRONG** in {wrong} of {CONTENTION_ROUNDS} rounds "
               "(see the rows marked WRONG)")
    out.append("")
    return out, all_ok


def main() -> int:
    out: list[str] = []
    contention_ok = throughput_ok = True
    try:
        log(f"run {RUN_ID} against {BASE_URL}")
        admin = login(ADMIN_EMAIL, ADMIN_PASSWORD)
        if "throughput" in PHASES:
            lines, throughput_ok = throughput(admin)
            out += lines
            print("\n".join(lines), flush=True)
        if "contention" in PHASES:
            lines, contention_ok = contention(admin)
            out += lines
            print("\n".join(lines), flush=True)
    except (Deadline, HttpError, TimeoutError, KeyError, TypeError) as err:
        print(f"\n**Aborted**: {type(err).__name__}: {err}\n", flush=True)
        log(f"aborted: {err}")
        throughput_ok = False
        if "contention" in PHASES:
            contention_ok = False
    tail = []
    if SIGNUP_SECONDS:
        tail.append(f"Setup: {len(SIGNUP_SECONDS)} sign-ups + logins, one at a time, p50 "
                    f"{ms(pct(SIGNUP_SECONDS, 50))}, max {ms(max(SIGNUP_SECONDS))}.")
    if ERRORS:
        tail.append("Unexpected HTTP answers (including retried ones): "
                    + ", ".join(f"`{k}` × {v}" for k, v in sorted(ERRORS.items())) + ".")
    else:
        tail.append("Unexpected HTTP answers: none.")
    tail.append(f"Run `{RUN_ID}`, {time.monotonic() - START:.0f} s in all.")
    print("\n".join(tail), flush=True)
    if not contention_ok:
        return 1
    return 0 if throughput_ok else 2


if __name__ == "__main__":
    sys.exit(main())
