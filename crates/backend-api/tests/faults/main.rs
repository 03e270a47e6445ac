//! Faults with nothing lost, each bounded to a few seconds of traffic on 127.0.0.1: the database late or
//! never there at start-up; PostgreSQL restarted under a steady stream of writes, or while idle; maximal
//! pages under a memory bound; the backend killed (SIGKILL) and restarted behind the real frontend; SIGTERM
//! under load; more slow requests than pool connections; probes while reads wait on a table lock.
//! The backend is the real binary as a child process where it is signalled. Each test prints its counts
//! (`cargo test -p backend-api --test faults -- --nocapture` shows them).

mod support;

mod backend_kill;
mod db_outage;
mod health_under_lock;
mod memory;
mod pool_exhaustion;
mod sigterm;
