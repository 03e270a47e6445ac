//! The real binary refusing a bad setting. (Its access log, `healthcheck` and graceful SIGTERM are tested
//! under load in `tests/faults/sigterm.rs`.)

use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_backend-api");

/// The binary with a clean environment plus `vars`.
fn backend(vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(vars.iter().copied());
    cmd
}

fn run(vars: &[(&str, &str)], args: &[&str]) -> Output {
    backend(vars)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_the_variable() {
    for (var, value) in [
        ("PORT", "http"),
        ("DB_POOL_SIZE", "0"),
        ("DB_POOL_TIMEOUT_MS", "soon"),
        ("DATABASE_URL", "mysql://x"),
    ] {
        let mut vars = vec![("DATABASE_URL", "postgres://u@127.0.0.1:1/d")];
        vars.retain(|(k, _)| *k != var);
        vars.push((var, value));
        let out = run(&vars, &[]);
        assert!(!out.status.success(), "{var}={value} must not start");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(var), "{stderr}");
    }
    let out = run(&[("POSTGRES_USER", "app")], &[]);
    assert_eq!(out.status.code(), Some(2), "a configuration error exits 2");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "invalid configuration: POSTGRES_DB must be set when DATABASE_URL is unset",
        "names the missing variable in a sentence"
    );
}
