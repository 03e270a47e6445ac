//! A real PostgreSQL for tests: a throwaway cluster on a free port (or the server in `TEST_DATABASE_URL`),
//! and a fresh database per test. As on every deploy path, the backend's own role ([`APP_ROLE`], made by
//! `db/app-role.sql`) owns each test database's schema, and a database's URL is that role's: the tests run the
//! backend, and look behind it, with the rights it has when deployed. The superuser only creates and drops
//! databases, with its search_path pinned.
//!
//! ```no_run
//! use test_support::postgres::{Cluster, TestDatabase};
//! let db = TestDatabase::migrated();           // a fresh, migrated database on the shared server
//! let url: &str = db.url();
//! let private = Cluster::start().unwrap();      // a cluster of your own, for tests that stop it
//! let db2 = TestDatabase::empty_on(&private.admin_url());
//! private.stop();
//! private.start_again();
//! ```
//!
//! The binaries come from `PATH`, `pg_config --bindir`, or `/usr/lib/postgresql/*/bin`. PostgreSQL refuses
//! to run as root, so as root the cluster runs as the `postgres` user (via `runuser`) in a data directory
//! under `/tmp` owned by that user. `cargo test` never runs the destructors of statics, so every cluster
//! gets a watchdog process that stops it and deletes its data directory once the test process is gone.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

/// When set, tests use this server (its user must be a superuser) instead of a cluster.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// The backend's role in every test database, and its password (tests only; trust authentication ignores it).
pub const APP_ROLE: &str = "taskmgr_test_app";
pub const APP_PASSWORD: &str = "test-only-app-password";
const APP_ROLE_SQL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../db/app-role.sql");
/// Every superuser session pins search_path, since the app role owns `public` (scripts/lib/pg-superuser.sh).
const SUPERUSER_PGOPTIONS: &str = "-c search_path=pg_catalog,pg_temp";

const HOW_TO_GET_POSTGRES: &str = "PostgreSQL is needed for these tests but was not found: no initdb and pg_ctl \
     in PATH, in `pg_config --bindir`, or in /usr/lib/postgresql/*/bin. Install it (Debian/Ubuntu: \
     `apt-get install postgresql`), or set TEST_DATABASE_URL=postgres://user:password@localhost:port/postgres \
     to use a running server on this machine, as a superuser.";

/// A throwaway PostgreSQL cluster. Dropping it stops it and deletes its data; so does the watchdog when
/// the process ends without dropping it (statics).
pub struct Cluster {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    port: u16,
    as_postgres_user: bool,
    watchdog: Mutex<Option<Child>>,
}

impl Cluster {
    /// `initdb` + `pg_ctl start` on a free port of 127.0.0.1, tuned for tests (no fsync).
    pub fn start() -> Result<Cluster, String> {
        Self::start_with(&[
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ])
    }

    /// [`Cluster::start`] with extra `postgres` options (e.g. `["-c", "max_connections=50"]`).
    pub fn start_with(extra_options: &[&str]) -> Result<Cluster, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let bin_dir = find_bin_dir().ok_or_else(|| HOW_TO_GET_POSTGRES.to_owned())?;
        let as_postgres_user = is_root();
        let data_dir = std::env::temp_dir().join(format!(
            "taskmgr-pg-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&data_dir);
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
        if as_postgres_user {
            let (uid, gid) = postgres_user_ids()?;
            std::os::unix::fs::chown(&data_dir, Some(uid), Some(gid)).map_err(|e| {
                format!(
                    "cannot hand {} to the postgres user: {e}",
                    data_dir.display()
                )
            })?;
        }
        let cluster = Cluster {
            bin_dir,
            data_dir,
            port: free_port()?,
            as_postgres_user,
            watchdog: Mutex::new(None),
        };
        // From here on, a failure drops `cluster`, which cleans up.
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.pgdata(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        let mut options = vec![
            "-c".to_owned(),
            "listen_addresses=127.0.0.1".to_owned(),
            "-c".to_owned(),
            format!("port={}", cluster.port),
            "-c".to_owned(),
            format!("unix_socket_directories={}", cluster.pgdata()),
            "-c".to_owned(),
            "max_connections=300".to_owned(),
        ];
        options.extend(extra_options.iter().map(|s| s.to_string()));
        std::fs::write(cluster.data_dir.join("taskmgr-options"), options.join(" "))
            .map_err(|e| format!("cannot write the cluster's options: {e}"))?;
        cluster.start_again_checked()?;
        *cluster.watchdog.lock().unwrap() = Some(cluster.spawn_watchdog()?);
        Ok(cluster)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication, superuser).
    pub fn admin_url(&self) -> String {
        self.url_for("postgres")
    }

    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Stops the server (`pg_ctl stop -m fast`): clients see their connections closed. For fault tests.
    pub fn stop(&self) {
        if let Err(err) = self.run(
            "pg_ctl",
            &["-D", &self.pgdata(), "-m", "fast", "-w", "-t", "30", "stop"],
        ) {
            panic!("could not stop the test cluster: {err}");
        }
    }

    /// Starts the server again on the same port and data, after [`Cluster::stop`].
    pub fn start_again(&self) {
        if let Err(err) = self.start_again_checked() {
            panic!("could not start the test cluster: {err}");
        }
    }

    fn start_again_checked(&self) -> Result<(), String> {
        let options = std::fs::read_to_string(self.data_dir.join("taskmgr-options"))
            .map_err(|e| format!("cannot read the cluster's options: {e}"))?;
        let log = format!("{}/postgres.log", self.pgdata());
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.pgdata(),
                "-l",
                &log,
                "-w",
                "-t",
                "60",
                "-o",
                &options,
                "start",
            ],
        )
    }

    fn pgdata(&self) -> String {
        self.data_dir.display().to_string()
    }

    /// Runs one PostgreSQL tool (as the postgres user when we are root), its output kept for the error.
    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin_dir.join(tool);
        let mut command = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        // Our working directory may not be readable by the postgres user.
        let output = command
            .args(args)
            .current_dir(&self.data_dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        if output.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.data_dir.join("postgres.log")).unwrap_or_default();
        Err(format!(
            "{} {} failed ({}):\n{}{}\n{}",
            program.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            log.lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n"),
        ))
    }

    /// A detached shell that waits for this process to end, then stops the cluster and deletes its data.
    fn spawn_watchdog(&self) -> Result<Child, String> {
        use std::os::unix::process::CommandExt;
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let as_user = if self.as_postgres_user {
            "runuser -u postgres -- "
        } else {
            ""
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             {as_user}'{pg_ctl}' -D '{dir}' -m immediate -w stop; rm -rf '{dir}'",
            pid = std::process::id(),
            pg_ctl = pg_ctl.display(),
            dir = self.pgdata(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a Ctrl-C aimed at the tests must not kill the cleaner.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start the cluster's watchdog: {e}"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &["-D", &self.pgdata(), "-m", "immediate", "-w", "stop"],
        );
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Some(mut watchdog) = self.watchdog.lock().unwrap().take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

/// The server every test shares: `TEST_DATABASE_URL` when set, otherwise one cluster per test process.
/// Panics, saying how to get PostgreSQL, when neither is available.
pub fn shared_admin_url() -> &'static str {
    static SHARED: OnceLock<Result<(String, Option<Cluster>), String>> = OnceLock::new();
    let shared = SHARED.get_or_init(|| match std::env::var(TEST_DATABASE_URL) {
        Ok(url) if !url.is_empty() => on_this_machine(&url).map(|()| (url, None)),
        _ => Cluster::start().map(|c| (c.admin_url(), Some(c))),
    });
    match shared {
        Ok((url, _)) => url,
        Err(err) => panic!("{err}"),
    }
}

/// The fault and search tests load the server hard, so `TEST_DATABASE_URL` may only name one on this machine.
fn on_this_machine(url: &str) -> Result<(), String> {
    let parsed =
        url::Url::parse(url).map_err(|e| format!("{TEST_DATABASE_URL} is not a URL: {e}"))?;
    match parsed.host_str() {
        Some("localhost" | "127.0.0.1" | "[::1]") => Ok(()),
        other => Err(format!(
            "{TEST_DATABASE_URL} names the host {}, but the tests send load: give a server on this machine \
             (localhost, 127.0.0.1 or [::1]), or unset it for a throwaway cluster",
            other.unwrap_or("(none)")
        )),
    }
}

/// A database of its own for one test, dropped (`WITH (FORCE)`) when the value is dropped.
pub struct TestDatabase {
    url: String,
    name: String,
    admin_url: String,
}

impl TestDatabase {
    /// A fresh database with the backend's schema, on the shared server (cloned from a migrated template).
    pub fn migrated() -> TestDatabase {
        Self::migrated_on(shared_admin_url())
    }

    /// A fresh database without any table, on the shared server (migration tests).
    pub fn empty() -> TestDatabase {
        Self::empty_on(shared_admin_url())
    }

    /// A fresh migrated database on the server of `admin_url` (e.g. a private [`Cluster`]).
    pub fn migrated_on(admin_url: &str) -> TestDatabase {
        match template_for(admin_url) {
            Some(template) => Self::create(admin_url, Some(&template)),
            None => {
                // A server we do not own: no template left behind, migrate the database itself.
                let db = Self::create(admin_url, None);
                let mut conn = connect(&db.url);
                backend_api::db::migrate(&mut conn)
                    .unwrap_or_else(|e| panic!("migrating {}: {e}", db.name));
                db
            }
        }
    }

    pub fn empty_on(admin_url: &str) -> TestDatabase {
        Self::create(admin_url, None)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A new connection to this database as [`APP_ROLE`] (to look at rows behind the API's back).
    pub fn connect(&self) -> PgConnection {
        connect(&self.url)
    }

    /// Inserts `count` tasks in one statement, behind the API (fast enough for 100,000 rows):
    /// titles `seed <i>`, descriptions from the SQL expression `description` of `i` (1..=count),
    /// e.g. `repeat(md5(i::text), 100)`. Creation times increase with `i`.
    pub fn seed_tasks(&self, count: usize, description: &str) {
        connect(&self.url)
            .batch_execute(&format!(
                "INSERT INTO tasks (id, title, description, created_at, updated_at) \
                 SELECT gen_random_uuid(), 'seed ' || i, {description}, \
                        now() - make_interval(secs => {count} - i), now() - make_interval(secs => {count} - i) \
                 FROM generate_series(1, {count}) AS i; ANALYZE tasks"
            ))
            .unwrap_or_else(|e| panic!("seeding {count} tasks into {}: {e}", self.name));
    }

    fn create(admin_url: &str, template: Option<&str>) -> TestDatabase {
        let name = unique_name("t");
        let template = template
            .map(|t| format!(" TEMPLATE {t}"))
            .unwrap_or_default();
        execute(admin_url, &format!("CREATE DATABASE {name}{template}"));
        // A clone keeps the template's owners; an empty database gets its role here.
        if template.is_empty() {
            set_up_app_role(admin_url, &name);
        }
        TestDatabase {
            url: app_url(admin_url, &name),
            name,
            admin_url: admin_url.to_owned(),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&pinned(&self.admin_url)) {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// The migrated template of a cluster this process started; `None` for an external server.
fn template_for(admin_url: &str) -> Option<String> {
    static TEMPLATES: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    if std::env::var(TEST_DATABASE_URL).is_ok_and(|url| url == admin_url) {
        return None;
    }
    let mut templates = TEMPLATES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let template = templates.entry(admin_url.to_owned()).or_insert_with(|| {
        let name = unique_name("template");
        execute(admin_url, &format!("CREATE DATABASE {name}"));
        set_up_app_role(admin_url, &name);
        let mut conn = connect(&app_url(admin_url, &name));
        backend_api::db::migrate(&mut conn)
            .unwrap_or_else(|e| panic!("migrating the template: {e}"));
        name
    });
    Some(template.clone())
}

fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "taskmgr_{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The same server URL with another database: `postgres://u@h:p/old?x` → `postgres://u@h:p/new?x`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

fn connect(url: &str) -> PgConnection {
    PgConnection::establish(url)
        .unwrap_or_else(|e| panic!("cannot connect to the test database server: {e}"))
}

/// `sql` as the superuser of `admin_url`.
fn execute(admin_url: &str, sql: &str) {
    connect(&pinned(admin_url))
        .batch_execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// `url` with the superuser's pinned search_path, as libpq's `options` parameter.
fn pinned(url: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    // libpq decodes %XX in a URL, not `+`.
    let options = SUPERUSER_PGOPTIONS
        .replace(' ', "%20")
        .replace('=', "%3D")
        .replace(',', "%2C");
    format!("{url}{separator}options={options}")
}

/// `db/app-role.sql` in `database`, run by psql as the superuser of `admin_url`, as every deploy path runs it.
/// One run at a time: the script's advisory lock holds within one database, and the role it creates belongs to
/// the whole server, so two databases of one server set up at once (two template databases, as when two
/// tests start together) both tried to create it, and one failed on the duplicate.
fn set_up_app_role(admin_url: &str, database: &str) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _running = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let psql = find_bin_dir().map_or_else(|| PathBuf::from("psql"), |dir| dir.join("psql"));
    let url = with_database(admin_url, database);
    let out = Command::new(&psql)
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &url,
            "-f",
            APP_ROLE_SQL,
        ])
        .env("APP_DB_USER", APP_ROLE)
        .env("APP_DB_PASSWORD", APP_PASSWORD)
        .env("PGOPTIONS", SUPERUSER_PGOPTIONS)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", psql.display()));
    assert!(
        out.status.success(),
        "db/app-role.sql in {database}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The URL of `database` on the server of `admin_url`, as [`APP_ROLE`].
fn app_url(admin_url: &str, database: &str) -> String {
    let mut url = url::Url::parse(&with_database(admin_url, database))
        .unwrap_or_else(|e| panic!("the database server's URL: {e}"));
    url.set_username(APP_ROLE)
        .and_then(|()| url.set_password(Some(APP_PASSWORD)))
        .expect("a database URL has a host");
    url.into()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn postgres_user_ids() -> Result<(u32, u32), String> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    match (id("-u"), id("-g")) {
        (Some(uid), Some(gid)) => Ok((uid, gid)),
        _ => Err(
            "running as root, PostgreSQL must run as the `postgres` user, which does not exist \
                  (Debian's postgresql package creates it; or run the tests as a normal user)"
                .to_owned(),
        ),
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// A directory holding both `initdb` and `pg_ctl`: from PATH, `pg_config --bindir`, or the newest
/// `/usr/lib/postgresql/<version>/bin`.
fn find_bin_dir() -> Option<PathBuf> {
    let pg_config = || {
        let out = Command::new("pg_config").arg("--bindir").output().ok()?;
        Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    };
    find_bin_dir_in(
        std::env::var_os("PATH").as_deref(),
        pg_config,
        Path::new("/usr/lib/postgresql"),
    )
}

/// [`find_bin_dir`] with its three sources as arguments (so a test can take them away).
fn find_bin_dir_in(
    path: Option<&std::ffi::OsStr>,
    pg_config_bindir: impl FnOnce() -> Option<PathBuf>,
    debian_root: &Path,
) -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let from_path = path.and_then(|path| std::env::split_paths(path).find(|d| has_tools(d)));
    let from_pg_config = || pg_config_bindir().filter(|dir| has_tools(dir));
    let from_debian = || {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(debian_root)
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
            .filter(|(_, dir)| has_tools(dir))
            .collect();
        versions.sort();
        versions.pop().map(|(_, dir)| dir)
    };
    // Resolve symlinks (/usr/local/bin/pg_ctl → /usr/lib/postgresql/15/bin/pg_ctl) so the tools find their siblings.
    let dir = from_path.or_else(from_pg_config).or_else(from_debian)?;
    Some(
        dir.join("pg_ctl")
            .canonicalize()
            .ok()?
            .parent()?
            .to_path_buf(),
    )
}

#[cfg(test)]
mod tests {
    use super::{
        app_url, find_bin_dir_in, on_this_machine, pinned, with_database, HOW_TO_GET_POSTGRES,
        SUPERUSER_PGOPTIONS,
    };
    use std::path::{Path, PathBuf};

    #[test]
    fn a_test_database_url_must_name_this_machine() {
        for url in [
            "postgres://postgres@localhost:5432/postgres",
            "postgres://u:p@127.0.0.1/postgres?sslmode=disable",
            "postgres://u@[::1]:5433/postgres",
        ] {
            assert_eq!(on_this_machine(url), Ok(()), "{url}");
        }
        let refused = on_this_machine("postgres://u:p@db.example.com:5432/postgres").unwrap_err();
        assert!(refused.contains("db.example.com"), "{refused}");
        assert!(on_this_machine("not a url").is_err());
    }

    #[test]
    fn the_superuser_options_are_the_scripts() {
        let scripts = include_str!("../../../scripts/lib/pg-superuser.sh");
        let line = format!("\nSUPERUSER_PGOPTIONS='{SUPERUSER_PGOPTIONS}'\n");
        assert!(
            scripts.contains(&line),
            "scripts/lib/pg-superuser.sh has no {line:?}"
        );
    }

    #[test]
    fn the_superuser_url_pins_search_path_and_the_app_url_is_the_roles() {
        assert_eq!(
            pinned("postgres://postgres@127.0.0.1:5/postgres"),
            "postgres://postgres@127.0.0.1:5/postgres?options=-c%20search_path%3Dpg_catalog%2Cpg_temp"
        );
        assert!(pinned("postgres://h/db?sslmode=disable").contains("?sslmode=disable&options="));
        assert_eq!(
            app_url(
                "postgres://postgres@127.0.0.1:5/postgres?sslmode=disable",
                "t1"
            ),
            "postgres://taskmgr_test_app:test-only-app-password@127.0.0.1:5/t1?sslmode=disable"
        );
    }

    #[test]
    fn without_postgres_binaries_nothing_is_found_and_the_message_says_how_to_get_them() {
        let nowhere = Path::new("/nonexistent-taskmgr-test");
        assert_eq!(find_bin_dir_in(Some("".as_ref()), || None, nowhere), None);
        assert_eq!(
            find_bin_dir_in(None, || Some(nowhere.to_path_buf()), nowhere),
            None
        );
        assert!(HOW_TO_GET_POSTGRES.contains("apt-get install postgresql"));
        assert!(HOW_TO_GET_POSTGRES.contains("TEST_DATABASE_URL"));
    }

    #[test]
    fn binaries_are_found_in_path_then_pg_config_then_the_newest_debian_version() {
        let root = std::env::temp_dir().join(format!("taskmgr-find-pg-{}", std::process::id()));
        let make = |dir: &Path| {
            std::fs::create_dir_all(dir).unwrap();
            for tool in ["initdb", "pg_ctl"] {
                std::fs::write(dir.join(tool), "").unwrap();
            }
            dir.canonicalize().unwrap()
        };
        let debian = root.join("lib");
        make(&debian.join("9/bin"));
        let newest = make(&debian.join("15/bin"));
        let on_path = make(&root.join("path"));
        let from_pg_config = make(&root.join("pgconfig"));
        let path = std::env::join_paths([root.join("empty"), on_path.clone()]).unwrap();
        assert_eq!(
            find_bin_dir_in(Some(&path), || None, &debian),
            Some(on_path)
        );
        assert_eq!(
            find_bin_dir_in(None, || Some(from_pg_config.clone()), &debian),
            Some(from_pg_config)
        );
        assert_eq!(
            find_bin_dir_in(None, || None::<PathBuf>, &debian),
            Some(newest)
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn with_database_swaps_only_the_path() {
        assert_eq!(
            with_database("postgres://u:p@h:5/postgres", "t1"),
            "postgres://u:p@h:5/t1"
        );
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h:5", "t1"),
            "postgres://u@h:5/t1"
        );
    }
}
