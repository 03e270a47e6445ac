//! What every handler shares: the backend client (one connection pool) and the cookie signer.

use crate::backend::Backend;
use crate::signing::Signer;

pub struct AppState {
    pub backend: Backend,
    pub signer: Signer,
}
