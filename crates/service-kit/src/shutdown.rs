//! Graceful shutdown, the same for both services: on SIGTERM (or SIGINT) actix stops accepting, lets the
//! requests in flight finish for up to [`GRACE_SECS`], and the server's future returns (exit 0). Servers
//! started inside tests call `disable_signals()`, leaving the test process's signals alone.

/// How long in-flight requests get after SIGTERM (`HttpServer::shutdown_timeout`): under the pods'
/// `terminationGracePeriodSeconds` (30), so that Kubernetes does not SIGKILL a server still finishing them.
pub const GRACE_SECS: u64 = 25;
