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
            let state = AppState::new(Deps::from_config(config.clone()).await?);
            if config.is_local() {
                common::MIGRATOR.run(&state_pool(&config).await?).await?;
            }
            state.spawn_background();
            runtime::run(routers::local_router(state), &config).await
        }
        Some(other) => Err(format!("unknown command `{other}`; use `serve` or `migrate`").into()),
    }
}

async fn state_pool(config: &Config) -> Result<sqlx::PgPool, BoxError> {
    Ok(Deps::from_config(config.clone()).await?.pool)
}
