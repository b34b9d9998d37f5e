"""A client's journey through the API using only the Python client generated from
/v1/openapi.json (openapi-python-client), run by scripts/check/client.sh:

sign in as the dev admin → create a product (with an Idempotency-Key; the retry is replayed) →
list products → read it back → ask for an image upload → PUT the bytes to the presigned URL
(S3 itself, outside the API: scripts/lib/shop_http.py) → poll the product's images until the pipeline has
processed it → read the product again and fetch its thumbnail anonymously.

Usage: python client_journey.py BASE_URL   (admin credentials: LOCAL_ADMIN_EMAIL/PASSWORD)
"""

import os
import sys
import time
import uuid
from pathlib import Path

from serverless_shop_api_client import AuthenticatedClient, Client
from serverless_shop_api_client.api.products import (
    create_image_upload,
    create_product,
    get_product,
    list_images,
    list_products,
)
from serverless_shop_api_client.api.users import login
from serverless_shop_api_client.models import (
    CreateProductRequest,
    ErrorEnvelope,
    ImageList,
    LoginRequest,
    ProductSummaryPage,
    ProductView,
    TokenResponse,
    UploadRequest,
    UploadView,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from shop_http import png, request  # noqa: E402


def step(text):
    print(f"client_journey: {text}", flush=True)


def expect(response, status, model):
    """The parsed body of a response that must have this status and body type."""
    assert response.status_code == status, (
        f"expected {status}, got {response.status_code}: {response.content[:500]!r}"
    )
    assert isinstance(response.parsed, model), f"expected {model.__name__}, got {response.parsed!r}"
    return response.parsed


def main(base):
    public = Client(base_url=base, timeout=30.0, raise_on_unexpected_status=True)

    # Sign in.
    tokens = expect(
        login.sync_detailed(
            client=public,
            body=LoginRequest(
                email=os.environ.get("LOCAL_ADMIN_EMAIL", "admin@example.com"),
                password=os.environ.get("LOCAL_ADMIN_PASSWORD", "Admin-Passw0rd!"),
            ),
        ),
        200,
        TokenResponse,
    )
    assert tokens.token_type == "Bearer" and tokens.access_token and tokens.expires_in > 0
    admin = AuthenticatedClient(
        base_url=base, token=tokens.access_token, timeout=30.0, raise_on_unexpected_status=True
    )
    step(f"signed in as the dev admin (token expires in {tokens.expires_in} s)")

    # A wrong password is a documented 401 with the error envelope.
    wrong = login.sync_detailed(
        client=public, body=LoginRequest(email="admin@example.com", password="not-the-password")
    )
    error = expect(wrong, 401, ErrorEnvelope)
    assert error.error.code == "UNAUTHENTICATED", error.error.code

    # Create a product, with an Idempotency-Key; the retry gets the same product.
    run = uuid.uuid4().hex[:10]
    sku = f"CLIENT-{run}"
    name = f"Client journey lamp {run}"
    body = CreateProductRequest(
        sku=sku,
        name=name,
        price="24.90",
        stock=7,
        category="Lighting",
        tags=["Lamp", "desk"],
        description="Made by the generated client.",
    )
    key = f"client-journey-{run}"
    created = expect(
        create_product.sync_detailed(client=admin, body=body, idempotency_key=key), 201, ProductView
    )
    assert created.sku == sku and created.name == name, created
    assert created.price == "24.90" and created.currency == "USD", created
    assert created.category == "lighting" and created.tags == ["lamp", "desk"], created
    assert created.stock.available == 7, created
    assert created.thumbnail_url is None and created.image_urls == [], created
    replay = create_product.sync_detailed(client=admin, body=body, idempotency_key=key)
    again = expect(replay, 201, ProductView)
    assert again.product_id == created.product_id, (again.product_id, created.product_id)
    assert replay.headers.get("idempotent-replayed") == "true", dict(replay.headers)
    product_id = created.product_id
    step(f"created product {product_id} ({sku}); the retry with the same key was replayed")

    # List: the new product is in its category, and found by search.
    page = expect(
        list_products.sync_detailed(client=public, category="lighting", limit=100),
        200,
        ProductSummaryPage,
    )
    listed = [item for item in page.items if item.product_id == product_id]
    deadline = time.monotonic() + 10
    while not listed and page.next_cursor and time.monotonic() < deadline:
        page = expect(
            list_products.sync_detailed(
                client=public, category="lighting", limit=100, cursor=page.next_cursor
            ),
            200,
            ProductSummaryPage,
        )
        listed = [item for item in page.items if item.product_id == product_id]
    assert len(listed) == 1, f"product {product_id} not listed in its category"
    assert listed[0].sku == sku and listed[0].price == "24.90", listed[0]
    found = expect(
        list_products.sync_detailed(client=public, q=run, limit=20), 200, ProductSummaryPage
    )
    assert [item.product_id for item in found.items] == [product_id], found.items
    step("listed it in its category and found it by name")

    # Read it back.
    read = expect(get_product.sync_detailed(product_id, client=public), 200, ProductView)
    assert (read.product_id, read.sku, read.name, read.price) == (product_id, sku, name, "24.90")
    missing = get_product.sync_detailed(2**62, client=public)
    assert expect(missing, 404, ErrorEnvelope).error.code == "RESOURCE_NOT_FOUND"
    step("read it back (and an unknown id is a 404 envelope)")

    # Upload an image: ask the API for a presigned PUT, send the bytes to S3, wait for the
    # pipeline.
    image = png(320, 200)
    upload = expect(
        create_image_upload.sync_detailed(
            product_id,
            client=admin,
            body=UploadRequest(content_type="image/png", content_length=len(image)),
        ),
        201,
        UploadView,
    )
    assert upload.method == "PUT" and upload.url.startswith("http"), upload
    headers = dict(upload.headers.additional_properties)
    assert headers.get("content-type") == "image/png", headers
    put = request("PUT", upload.url, data=image, headers=headers)
    assert put.status in (200, 204), (put.status, put.text)
    step(f"uploaded a {len(image)}-byte PNG as image {upload.image_id}")

    deadline = time.monotonic() + 60
    while True:
        images = expect(list_images.sync_detailed(product_id, client=public), 200, ImageList)
        mine = [item for item in images.items if str(item.image_id) == str(upload.image_id)]
        if mine and mine[0].status != "pending":
            break
        assert time.monotonic() < deadline, f"image still pending after 60 s: {images.items}"
        time.sleep(0.5)
    assert mine[0].status == "processed", mine[0]
    assert mine[0].thumbnail_url and mine[0].original_url, mine[0]
    step(f"the pipeline processed it: thumbnail {mine[0].thumbnail_url}")

    # The product shows it, and the thumbnail is public.
    shown = expect(get_product.sync_detailed(product_id, client=public), 200, ProductView)
    deadline = time.monotonic() + 10
    while shown.thumbnail_url is None and time.monotonic() < deadline:
        time.sleep(0.5)
        shown = expect(get_product.sync_detailed(product_id, client=public), 200, ProductView)
    assert shown.thumbnail_url == mine[0].thumbnail_url, (shown.thumbnail_url, mine[0])
    thumb = request("GET", shown.thumbnail_url)
    data = thumb.body
    assert thumb.status == 200 and data[:3] == b"\xff\xd8\xff", (thumb.status, data[:16])
    step(f"the product shows the thumbnail, fetched anonymously ({len(data)} bytes of JPEG)")
    print("client_journey: passed")


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"))
