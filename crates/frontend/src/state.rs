//! What every handler and middleware shares: the backend client (one connection pool), the cookie
//! key, the request checks' settings and the slots that bound concurrent work.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::backend::Backend;
use crate::config::{AllowedHosts, Limits, TrustedProxies};
use crate::cookies::key::CookieKey;

pub struct AppState {
    pub backend: Backend,
    pub cookie_key: CookieKey,
    pub allowed_hosts: AllowedHosts,
    pub trusted_proxies: TrustedProxies,
    pub limits: Limits,
    /// Bodies in flight (see [`crate::http::body`]).
    pub uploads: Arc<Semaphore>,
    /// List pages being fetched and rendered (see [`crate::config::limits::LIST_RENDERS`]).
    pub list_renders: Semaphore,
}
