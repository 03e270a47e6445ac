//! taskmgr's web UI: server-rendered pages over the backend API, which it reaches over HTTP only.

pub mod backend;
pub mod config;
pub mod cookies;
pub mod error;
pub mod http;
pub mod metrics;
pub mod render;
pub mod routes;
pub mod startup;
pub mod state;
