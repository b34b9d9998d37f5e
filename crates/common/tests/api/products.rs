//! The products contract: CRUD, listing, inventory, images, roles.

use reqwest::Method;
use serde_json::{Value, json};
use testkit::TestApp;

#[tokio::test]
async fn an_admin_creates_reads_updates_and_deletes_a_product() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;

    let response = app
        .send_json(Method::POST, "/v1/products", Some(&admin.access_token), &json!({
            "sku": "MUG-BLUE-1", "name": "  Blue mug ", "description": "Stoneware", "price": "12.5",
            "category": "Kitchen", "tags": ["Mug", "blue", "mug"], "stock": 7
        }))
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let id = created["product_id"].as_i64().expect("product_id");
    assert_eq!(location, format!("/v1/products/{id}"));
    assert_eq!(created["sku"], "MUG-BLUE-1");
    assert_eq!(created["name"], "Blue mug", "names are trimmed");
    assert_eq!(created["price"], "12.50", "money has two places");
    assert_eq!(created["currency"], "USD");
    assert_eq!(created["category"], "kitchen", "categories are lower-cased");
    assert_eq!(
        created["tags"],
        json!(["mug", "blue"]),
        "tags are normalised and deduplicated"
    );
    assert_eq!(created["stock"], json!({"available": 7}));
    assert_eq!(created["image_urls"], json!([]));
    assert!(created["thumbnail_url"].is_null());
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));

    let fetched: Value = app.get(&location, None).await.json().await.unwrap();
    assert_eq!(fetched, created, "a public read returns what was created");

    let response = app
        .send_json(
            Method::PATCH,
            &location,
            Some(&admin.access_token),
            &json!({"price": "14.00", "category": null}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["price"], "14.00");
    assert!(patched["category"].is_null(), "null clears the category");
    assert_eq!(patched["name"], "Blue mug", "untouched fields stay");
    let fetched: Value = app.get(&location, None).await.json().await.unwrap();
    assert_eq!(
        fetched["price"], "14.00",
        "reads see the update (cache invalidated)"
    );

    let response = app
        .request(Method::DELETE, &location, Some(&admin.access_token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    crate::assert_error(
        app.get(&location, None).await,
        404,
        "RESOURCE_NOT_FOUND",
        "read after delete",
    )
    .await;
    let list: Value = app.get("/v1/products", None).await.json().await.unwrap();
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["product_id"] != id),
        "deleted products leave listings"
    );
    let again = app
        .request(Method::DELETE, &location, Some(&admin.access_token))
        .send()
        .await
        .unwrap();
    crate::assert_error(again, 404, "RESOURCE_NOT_FOUND", "second delete").await;
    let patch_deleted = app
        .send_json(
            Method::PATCH,
            &location,
            Some(&admin.access_token),
            &json!({"name": "x"}),
        )
        .await;
    crate::assert_error(
        patch_deleted,
        404,
        "RESOURCE_NOT_FOUND",
        "patch after delete",
    )
    .await;
}

#[tokio::test]
async fn a_duplicate_sku_is_a_conflict_but_a_deleted_products_sku_is_free_again() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let body = TestApp::product_body("Lamp", "30.00", 1);
    let first = app.create_product(&admin, body.clone()).await;
    let duplicate = app
        .send_json(
            Method::POST,
            "/v1/products",
            Some(&admin.access_token),
            &body,
        )
        .await;
    let error = crate::assert_error(duplicate, 409, "CONFLICT", "duplicate SKU").await;
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains(body["sku"].as_str().unwrap())
    );

    let path = format!("/v1/products/{}", first["product_id"]);
    app.request(Method::DELETE, &path, Some(&admin.access_token))
        .send()
        .await
        .unwrap();
    let reused = app
        .send_json(
            Method::POST,
            "/v1/products",
            Some(&admin.access_token),
            &body,
        )
        .await;
    assert_eq!(
        reused.status(),
        201,
        "the SKU of a deleted product can be used again"
    );
}

async fn collect_pages(app: &TestApp, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let path = match &cursor {
            Some(c) => format!("/v1/products?{query}&cursor={c}"),
            None => format!("/v1/products?{query}"),
        };
        let response = app.get(&path, None).await;
        assert_eq!(response.status(), 200, "{path}");
        let page: Value = response.json().await.unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
    panic!("pagination did not end");
}

fn ids(items: &[Value]) -> Vec<i64> {
    items
        .iter()
        .map(|p| p["product_id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn listings_page_with_cursors_and_filter_by_category_and_text() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut kitchen = Vec::new();
    for (name, category) in [
        ("Blue Mug", "kitchen"),
        ("Red mug", "kitchen"),
        ("Teapot", "kitchen"),
        ("Rake", "garden"),
        ("Hose", "garden"),
    ] {
        let mut body = TestApp::product_body(name, "5.00", 3);
        body["category"] = json!(category);
        let product = app.create_product(&admin, body).await;
        if category == "kitchen" {
            kitchen.push(product["product_id"].as_i64().unwrap());
        }
    }

    let all = collect_pages(&app, "limit=2").await;
    assert_eq!(all.len(), 5, "three pages of 2, 2, 1");
    let all_ids = ids(&all);
    let mut sorted = all_ids.clone();
    sorted.sort();
    assert_eq!(all_ids, sorted, "ordered by id, no duplicates across pages");
    sorted.dedup();
    assert_eq!(sorted.len(), 5);
    let summary = &all[0];
    for field in [
        "product_id",
        "sku",
        "name",
        "price",
        "currency",
        "category",
        "thumbnail_url",
        "stock",
    ] {
        assert!(
            summary.get(field).is_some(),
            "summary has {field}: {summary}"
        );
    }
    assert!(
        summary.get("description").is_none(),
        "a summary is the listing subset"
    );

    assert_eq!(
        ids(&collect_pages(&app, "category=kitchen&limit=2").await),
        kitchen
    );
    assert_eq!(
        ids(&collect_pages(&app, "category=KITCHEN").await),
        kitchen,
        "category matching ignores case"
    );
    let mugs = collect_pages(&app, "q=MUG&limit=1").await;
    assert_eq!(
        ids(&mugs),
        kitchen[..2].to_vec(),
        "q matches names case-insensitively"
    );
    assert!(collect_pages(&app, "q=nothing-like-this").await.is_empty());

    // The Postgres fallback answers the same when DynamoDB is down.
    app.faults.catalog.fail();
    assert_eq!(
        ids(&collect_pages(&app, "limit=2&category=garden").await).len(),
        2
    );
    assert_eq!(
        ids(&collect_pages(&app, "q=mug&limit=1").await),
        kitchen[..2].to_vec()
    );
    app.faults.catalog.heal();
}

#[tokio::test]
async fn writes_need_an_admin_and_reads_are_public() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let product = app
        .create_product(&admin, TestApp::product_body("Chair", "40.00", 2))
        .await;
    let path = format!("/v1/products/{}", product["product_id"]);
    let body = TestApp::product_body("X", "1.00", 1);

    let cases: Vec<(Method, String, Value)> = vec![
        (Method::POST, "/v1/products".into(), body.clone()),
        (Method::PATCH, path.clone(), json!({"name": "y"})),
        (Method::DELETE, path.clone(), Value::Null),
        (
            Method::PUT,
            format!("{path}/inventory"),
            json!({"stock": 1}),
        ),
    ];
    for (method, route, body) in &cases {
        let case = format!("{method} {route}");
        let anonymous = app.send_json(method.clone(), route, None, body).await;
        crate::assert_error(
            anonymous,
            401,
            "UNAUTHENTICATED",
            &format!("anonymous {case}"),
        )
        .await;
        let as_customer = app
            .send_json(method.clone(), route, Some(&customer.access_token), body)
            .await;
        crate::assert_error(as_customer, 403, "FORBIDDEN", &format!("customer {case}")).await;
    }
    for route in ["/v1/products", path.as_str(), &format!("{path}/images")] {
        assert_eq!(
            app.get(route, None).await.status(),
            200,
            "anonymous GET {route}"
        );
        assert_eq!(
            app.get(route, Some(&customer.access_token)).await.status(),
            200,
            "customer GET {route}"
        );
    }
    let unchanged: Value = app.get(&path, None).await.json().await.unwrap();
    assert_eq!(unchanged["name"], "Chair", "refused writes changed nothing");
}

#[tokio::test]
async fn inventory_sets_stock_and_never_drops_below_what_is_reserved() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = app
        .create_product(&admin, TestApp::product_body("Desk", "99.99", 10))
        .await;
    let id = product["product_id"].as_i64().unwrap();
    let path = format!("/v1/products/{id}/inventory");
    let _ = app.get(&format!("/v1/products/{id}"), None).await; // warm the cache

    let response = app
        .send_json(
            Method::PUT,
            &path,
            Some(&admin.access_token),
            &json!({"stock": 4}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"product_id": id, "stock": 4, "reserved": 0, "available": 4})
    );
    let fetched: Value = app
        .get(&format!("/v1/products/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        fetched["stock"]["available"], 4,
        "the product shows the new stock"
    );

    sqlx::query("UPDATE product_inventory SET reserved = 3 WHERE product_id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    let below = app
        .send_json(
            Method::PUT,
            &path,
            Some(&admin.access_token),
            &json!({"stock": 2}),
        )
        .await;
    crate::assert_error(below, 409, "CONFLICT", "stock below reserved").await;
    let ok = app
        .send_json(
            Method::PUT,
            &path,
            Some(&admin.access_token),
            &json!({"stock": 3}),
        )
        .await;
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["available"], 0);

    for bad in [
        json!({"stock": -1}),
        json!({"stock": 1_000_001}),
        json!({"stock": "5"}),
        json!({}),
    ] {
        let response = app
            .send_json(Method::PUT, &path, Some(&admin.access_token), &bad)
            .await;
        crate::assert_error(
            response,
            400,
            "VALIDATION_FAILED",
            &format!("inventory {bad}"),
        )
        .await;
    }
    let missing = app
        .send_json(
            Method::PUT,
            "/v1/products/999999/inventory",
            Some(&admin.access_token),
            &json!({"stock": 1}),
        )
        .await;
    crate::assert_error(
        missing,
        404,
        "RESOURCE_NOT_FOUND",
        "inventory of a missing product",
    )
    .await;
}

#[tokio::test]
async fn a_new_product_has_no_images_and_a_missing_one_is_not_found() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = app
        .create_product(&admin, TestApp::product_body("Vase", "15.00", 1))
        .await;
    let response = app
        .get(
            &format!("/v1/products/{}/images", product["product_id"]),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"items": []})
    );
    crate::assert_error(
        app.get("/v1/products/424242/images", None).await,
        404,
        "RESOURCE_NOT_FOUND",
        "images of a missing product",
    )
    .await;
}

/// Search answers from the trigram index: with 100,000 products, a rare word's match is on
/// the first page, and the query reads only index matches (never the whole catalogue).
#[tokio::test]
async fn search_finds_a_rare_word_among_100_000_products_on_the_first_page() {
    let app = TestApp::spawn().await;
    sqlx::query(
        "WITH made AS ( \
             INSERT INTO products (sku, name, price, category) \
             SELECT 'BULK-' || g, 'Plain ceramic mug number ' || g, 4.00, 'kitchen' \
             FROM generate_series(1, 100000) g RETURNING product_id) \
         INSERT INTO product_inventory (product_id, stock) SELECT product_id, 5 FROM made",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let rare: i64 = sqlx::query_scalar(
        "WITH made AS (INSERT INTO products (sku, name, price) \
             VALUES ('RARE-1', 'Zanzibar spice grinder', 30.00) RETURNING product_id) \
         INSERT INTO product_inventory (product_id, stock) SELECT product_id, 2 FROM made \
         RETURNING product_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE products")
        .execute(&app.pool)
        .await
        .unwrap();

    let page: Value = app
        .get("/v1/products?q=zanzibar&limit=20", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["product_id"], rare, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["next_cursor"], Value::Null);

    // And it stays on the index however often it runs: a prepared statement switches to its
    // generic plan after five executions per connection, which walked all 100,000 rows. Every
    // one of 40 searches (more than five per pooled connection) must use the trigram index.
    let trigram_scans = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'products_name_trgm_idx'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    let before = trigram_scans().await;
    for n in 0..40 {
        // A distinct page size each time, so no cache answers for the database.
        let limit = 20 + n % 40;
        let page: Value = app
            .get(&format!("/v1/products?q=zanzibar&limit={limit}"), None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["items"][0]["product_id"], rare, "{page}");
    }
    app.eventually("every search used the trigram index", || async {
        trigram_scans().await - before >= 40
    })
    .await;

    // The plan: the trigram index finds the candidates; rows read stay within the matches.
    let plan: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "EXPLAIN (ANALYZE, FORMAT JSON) {}",
        common::repositories::products_pg::list_sql(false, true)
    )))
    .bind(None::<String>)
    .bind(common::repositories::products_pg::like_pattern("zanzibar"))
    .bind(None::<i64>)
    .bind(21_i64)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let text = plan.to_string();
    assert!(
        text.contains("products_name_trgm_idx"),
        "the search uses the trigram index: {text}"
    );
    fn rows_read(node: &Value) -> f64 {
        let own = node["Actual Rows"].as_f64().unwrap_or(0.0)
            + node["Rows Removed by Filter"].as_f64().unwrap_or(0.0)
            + node["Rows Removed by Index Recheck"]
                .as_f64()
                .unwrap_or(0.0);
        own + node["Plans"]
            .as_array()
            .map(|plans| plans.iter().map(rows_read).sum())
            .unwrap_or(0.0)
    }
    let read = rows_read(&plan[0]["Plan"]);
    assert!(
        read < 100.0,
        "rows read per search are bounded ({read}): {text}"
    );

    for short in ["ab", "x"] {
        let response = app.get(&format!("/v1/products?q={short}"), None).await;
        crate::assert_error(response, 400, "VALIDATION_FAILED", short).await;
    }
}

#[tokio::test]
async fn unknown_ids_are_remembered_briefly_and_a_create_forgets_them() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let first = app
        .create_product(&admin, TestApp::product_body("First", "1.00", 1))
        .await["product_id"]
        .as_i64()
        .unwrap();
    let next = first + 1;
    let path = format!("/v1/products/{next}");
    let missing = app.get(&path, None).await;
    crate::assert_error(missing, 404, "RESOURCE_NOT_FOUND", "unknown id").await;
    let (gets, _) = app.faults.catalog_calls.reads();
    for _ in 0..5 {
        let again = app.get(&path, None).await;
        crate::assert_error(again, 404, "RESOURCE_NOT_FOUND", "unknown id again").await;
    }
    assert_eq!(
        app.faults.catalog_calls.reads().0,
        gets,
        "repeated unknown ids are answered from the cache"
    );
    let created = app
        .create_product(&admin, TestApp::product_body("Second", "2.00", 1))
        .await;
    assert_eq!(created["product_id"], next);
    let found = app.get(&path, None).await;
    assert_eq!(found.status(), 200, "the create cleared the negative entry");
}
