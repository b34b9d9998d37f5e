//! The shared library of every service, in layers: `routers → services → repositories →
//! clients`, with `models`, `error` and `config` usable by all. [`app`] is the composition root:
//! binaries call [`app::main`] and nothing else.

pub mod app;
pub mod auth;
pub mod clients;
pub mod config;
pub mod error;
pub mod http;
pub mod metrics;
pub mod models;
pub mod repositories;
pub mod routers;
pub mod runtime;
pub mod services;
pub mod state;

pub use error::{Error, Result};

/// mimalloc for every binary: a request allocates and frees many small objects across two
/// worker threads, where glibc's malloc took ≈ 14 % of the server's CPU (docs/benchmarks/http.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The sqlx migrations (`migrations/`), for the local server's `migrate` and the test kit.
/// Production binaries never run them: deployments migrate as a separate step.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");
