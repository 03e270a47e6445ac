//! The HTTP layer, run on every request before a handler: unknown methods refused, the `Host` check,
//! HTTPS behind trusted proxies, request bodies under their limits, and the security headers.

pub mod body;
pub mod headers;
pub mod hosts;
pub mod https;
pub mod methods;
