//! frontend integration tests: a real PostgreSQL (a throwaway cluster, or TEST_DATABASE_URL), the
//! real backend and the real frontend, both in-process on free ports, driven over HTTP the way a
//! browser drives them (cookies kept, CSRF tokens read from the pages, redirects checked).

mod support;

mod binary;
mod forms;
mod health;
mod hosts;
mod memory;
mod methods;
mod outage;
mod pages;
mod proxy;
mod request_id;
mod security;
mod uploads;
