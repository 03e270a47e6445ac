//! taskmgr's web UI: server-rendered pages over the backend API, which it reaches over HTTP only.

pub mod backend;
pub mod config;
pub mod cookie_key;
pub mod csrf;
pub mod error;
pub mod flash;
pub mod gate;
pub mod hosts;
pub mod limits;
pub mod listing;
pub mod methods;
pub mod metrics;
pub mod render;
pub mod routes;
pub mod security;
pub mod startup;
pub mod state;
pub mod templates;
pub mod transport;
pub mod view;
