//! The cart under concurrency across processes: in production every Lambda execution
//! environment is a process of its own, so the per-process lock of `CartService` cannot
//! serialize two customers' devices; only DynamoDB's conditional write can.

use testkit::TestApp;

#[tokio::test]
async fn concurrent_adds_through_two_processes_lose_nothing() {
    let app = TestApp::spawn().await;
    let (second, mut child) = app.spawn_process(env!("CARGO_BIN_EXE_cart")).await;
    let admin = app.admin().await;
    let customer = app.customer().await;
    let product = app
        .create_product(&admin, TestApp::product_body("Popular", "1.00", 500))
        .await["product_id"]
        .as_i64()
        .unwrap();
    let add = |base: String| {
        let client = app.client.clone();
        let token = customer.access_token.clone();
        async move {
            client
                .post(format!("{base}/v1/cart/items"))
                .bearer_auth(token)
                .json(&serde_json::json!({"product_id": product, "quantity": 1}))
                .send()
                .await
                .expect("add")
                .status()
                .as_u16()
        }
    };
    for round in 0..5 {
        app.request(
            reqwest::Method::DELETE,
            "/v1/cart",
            Some(&customer.access_token),
        )
        .send()
        .await
        .unwrap();
        // Ten adds through each process, interleaved.
        let adds = (0..20).map(|i| {
            add(if i % 2 == 0 {
                app.address.clone()
            } else {
                second.clone()
            })
        });
        let statuses = futures::future::join_all(adds).await;
        assert!(
            statuses.iter().all(|s| *s == 200),
            "round {round}: {statuses:?}"
        );
        let cart: serde_json::Value = app
            .get("/v1/cart", Some(&customer.access_token))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            cart["items"][0]["quantity"], 20,
            "round {round}: no add was lost across the two processes: {cart}"
        );
    }
    child.kill().await.ok();
}
