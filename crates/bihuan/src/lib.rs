//! bihuan (闭环): the server, its use cases and its storage.
//! See ARCHITECTURE.md for the map.

pub mod app;
pub mod backup;
pub mod bench;
pub mod bench_dashboard;
pub mod bench_surge;
pub mod bench_tracing;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod drill_run;
pub mod error;
pub mod export;
pub mod import;
pub mod notify;
pub mod stays;
pub mod storage;
pub mod usecases;
pub mod web;
