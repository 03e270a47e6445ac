//! What a careless or hostile client sends, against the real server (in-process, port 0) and a real
//! PostgreSQL: broken and oversized bodies, wrong content types, SQL and HTML in every field, ids of every
//! shape, absurd query strings, broken HTTP framing and thousands of headers. Every answer must be the
//! documented status with a JSON error, the server must keep serving, and the data must not change.
//! Requests go over a plain socket (`test_support::raw_http`), since client libraries refuse to send most
//! of this.

mod support;

mod bodies;
mod fields;
mod ids;
mod protocol;
mod queries;
