//! Binding a service's listeners. A port that cannot be bound is reported with its address and the variable
//! that chose it (`cannot listen on 127.0.0.1:9090 (METRICS_PORT): address already in use`), so a reader
//! knows which setting to change; the binary then exits with [`EXIT_CANNOT_LISTEN`].

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};

/// The exit code of a service that cannot listen on one of its ports (distinct from 1, a failure while
/// running, and from [`crate::env::EXIT_BAD_SETTING`]).
pub const EXIT_CANNOT_LISTEN: u8 = 3;

/// A port that could not be bound, with the variable that set it.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {address} ({variable}): {reason}")]
pub struct ListenError {
    pub address: SocketAddr,
    pub variable: &'static str,
    pub reason: String,
}

impl ListenError {
    pub fn new(address: SocketAddr, variable: &'static str, source: &io::Error) -> Self {
        let reason = match source.kind() {
            io::ErrorKind::AddrInUse => "address already in use".to_string(),
            io::ErrorKind::AddrNotAvailable => "no such address on this host".to_string(),
            io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => source.to_string(),
        };
        ListenError {
            address,
            variable,
            reason,
        }
    }
}

/// A listener on `host:port` (port 0 picks a free one) and the address it got; `variable` names the setting
/// that chose the port, for the error.
pub fn bind(
    host: IpAddr,
    port: u16,
    variable: &'static str,
) -> Result<(TcpListener, SocketAddr), ListenError> {
    let wanted = SocketAddr::new(host, port);
    let listener = TcpListener::bind(wanted).map_err(|e| ListenError::new(wanted, variable, &e))?;
    let bound = listener
        .local_addr()
        .map_err(|e| ListenError::new(wanted, variable, &e))?;
    Ok((listener, bound))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::LOCALHOST;

    #[test]
    fn a_taken_port_names_its_address_and_variable() {
        let (_taken, address) = bind(LOCALHOST, 0, "PORT").unwrap();
        let err = bind(LOCALHOST, address.port(), "METRICS_PORT").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot listen on 127.0.0.1:{} (METRICS_PORT): address already in use",
                address.port()
            )
        );
    }
}
