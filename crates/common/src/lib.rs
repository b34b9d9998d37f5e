//! The shared library of every service, in layers: `routers → services → repositories →
//! clients`, with `models`, `error` and `config` usable by all. [`app`] is the composition root:
//! binaries call [`app::main`] and nothing else.

pub mod app;
pub mod auth;
pub mod clients;
pub mod config;
pub mod error;
pub mod http;
pub mod log_context;
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
/// Built with `no_thp`: with transparent huge pages (`always` on many Linux hosts) its arenas
/// were backed by 2 MiB pages, about 10 MiB more RSS per process (docs/benchmarks/memory.md).
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The sqlx migrations (`migrations/`), for the local server's `migrate` and the test kit.
/// Production binaries never run them: deployments migrate as a separate step.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");
