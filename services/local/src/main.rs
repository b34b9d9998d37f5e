//! The all-in-one local server: every /v1 router on one port, as API Gateway would route them,
//! plus the background workers. `local migrate` applies the sqlx migrations (local and CI only;
//! deployments migrate as their own step).

use common::{
    config::Config,
    error::BoxError,
    routers, runtime,
    state::{AppState, Deps},
};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    runtime::init_tracing();
    let config = Config::from_env()?;
    match std::env::args().nth(1).as_deref() {
        Some("migrate") => {
            let deps = Deps::from_config(config).await?;
            common::MIGRATOR.run(&deps.pool).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        None | Some("serve") => {
            let deps = Deps::from_config(config.clone()).await?;
            if config.is_local() {
                common::MIGRATOR.run(&deps.pool).await?;
            }
            let state = AppState::new(deps);
            state.spawn_background();
            match config.image_queue_url.clone() {
                Some(queue) => {
                    runtime::spawn_image_poller(
                        state.clone(),
                        queue,
                        std::time::Duration::from_secs(5),
                    );
                }
                None => {
                    tracing::warn!("IMAGE_QUEUE_URL is not set: uploaded images are not processed")
                }
            }
            runtime::run(routers::local_router(state), &config).await
        }
        Some(other) => Err(format!("unknown command `{other}`; use `serve` or `migrate`").into()),
    }
}
