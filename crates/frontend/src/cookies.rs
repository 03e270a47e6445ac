//! The cookies the browser carries back: the key that seals them, the CSRF session, flash messages.

pub mod csrf;
pub mod flash;
pub mod key;
