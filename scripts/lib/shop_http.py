"""The HTTP client the Python scripts of scripts/ share (standard library only, so it runs under
any venv): one `request` that never raises for an HTTP or network failure, the settings every
script reads the same way, and a small PNG for image uploads.

A script elsewhere in scripts/ imports it with

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
    import shop_http

`request` answers an `Answer`: `status` 0 when nothing answered, with `error` saying why
(`timeout`, `refused`, `reset`, `oserror:<class>`); `json()` is the parsed body or None; `code`
is the error envelope's `error.code` for an answer >= 400. Redirects of a GET are followed (as
urllib does), other methods' are returned.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import struct
import time
import urllib.parse
import zlib
from dataclasses import dataclass, field

REDIRECTS = (301, 302, 303, 307, 308)


@dataclass
class Answer:
    status: int  # 0: no answer
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""  # why nothing answered
    seconds: float = 0.0

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace") if self.status else self.error

    def json(self):
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    @property
    def code(self) -> str:
        """The error envelope's code of an answer >= 400, else ""."""
        if self.status < 400:
            return ""
        parsed = self.json()
        err = parsed.get("error") if isinstance(parsed, dict) else None
        return (err or {}).get("code", "") if isinstance(err, dict) else ""


def request(method: str, url: str, *, body=None, data: bytes | None = None,
            token: str | None = None, headers: dict | None = None, timeout: float = 30.0,
            redirects: int = 5) -> Answer:
    """One request. `body` is sent as JSON; `data` as is (e.g. bytes for a presigned S3 PUT)."""
    hdrs = dict(headers or {})
    if token:
        hdrs["authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["content-type"] = "application/json"
    started = time.monotonic()
    answer = _once(method, url, data, hdrs, timeout)
    while method == "GET" and answer.status in REDIRECTS and redirects > 0 and "location" in answer.headers:
        url = urllib.parse.urljoin(url, answer.headers["location"])
        answer = _once(method, url, data, hdrs, timeout)
        redirects -= 1
    answer.seconds = time.monotonic() - started
    return answer


def _once(method: str, url: str, data: bytes | None, headers: dict, timeout: float) -> Answer:
    parts = urllib.parse.urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = kind(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
        return Answer(resp.status, payload, {k.lower(): v for k, v in resp.getheaders()})
    except (TimeoutError, socket.timeout):
        return Answer(0, error="timeout")
    except ConnectionRefusedError:
        return Answer(0, error="refused")
    except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError):
        return Answer(0, error="reset")
    except OSError as err:
        return Answer(0, error=f"oserror:{err.__class__.__name__}")
    finally:
        conn.close()


# --------------------------------------------------------------------------- settings

def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8080").rstrip("/")
ADMIN_EMAIL = os.environ.get("LOCAL_ADMIN_EMAIL", "admin@example.com")
ADMIN_PASSWORD = os.environ.get("LOCAL_ADMIN_PASSWORD", "Admin-Passw0rd!")


# --------------------------------------------------------------------------- bodies

def png(width: int = 48, height: int = 32) -> bytes:
    """A small, valid PNG (an RGB gradient), made here so no script needs an image file."""
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 5 % 256, y * 7 % 256, (x + y) % 256))
        for y in range(height)
    )

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
