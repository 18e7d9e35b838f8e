//! What every binary of this benchmark measures with: its settings, its connections, medians,
//! CPU time, resident memory and the machine's load.

use std::future::Future;
use std::process::ExitCode;

use schema_core::Names;
use shared::schemas::db::{BILLING_TEAM_ROLE, PHYSICIAN_ROLE, SUPPORT_TEAM_ROLE};
use tokio_postgres::{Client, NoTls};

/// The positive number in the environment variable `name`, or `default` when it is not set.
pub fn env_number(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or_else(|| panic!("{name}={value:?} is not a positive number")),
        Err(_) => default,
    }
}

/// A connection without TLS, its connection task spawned.
pub async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// The URL with its database replaced by `dbname`.
pub fn with_dbname(url: &str, dbname: &str) -> String {
    match url.find("://") {
        Some(scheme_end) => {
            let (scheme, rest) = url.split_at(scheme_end + 3);
            let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
            let (authority, path_and_query) = rest.split_at(authority_end);
            let query = path_and_query
                .find('?')
                .map_or("", |i| &path_and_query[i..]);
            format!("{scheme}{authority}/{dbname}{query}")
        }
        None => format!("{url} dbname={dbname}"),
    }
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let mid = sorted.len() / 2;
    if mid * 2 == sorted.len() {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// CPU time of this process so far, user + system, all threads (Linux: `/proc/self/stat`,
/// in clock ticks of 1/100 s).
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 2..)?
        .split_whitespace()
        .collect();
    // utime and stime: fields 14 and 15 of the line, 12 and 13 counted from the state (field 3).
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// A line of `/proc/self/status` (`VmRSS:`, `VmHWM:`), in KiB.
pub fn rss_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The 1-, 5- and 15-minute load averages, to judge how busy the machine was.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_string())
}

/// A run's throwaway database and the schema's roles, named for the run: roles belong to the
/// whole server, so every role the schema creates is given a name of the run's and dropped
/// with its database.
pub struct Run {
    /// The database's name.
    pub name: String,
    /// Each role of the schema with the name it is deployed under.
    pub roles: Vec<(&'static str, String)>,
}

impl Run {
    /// A run whose database is named `name`.
    pub fn new(name: String) -> Self {
        let roles = [PHYSICIAN_ROLE, SUPPORT_TEAM_ROLE, BILLING_TEAM_ROLE]
            .into_iter()
            .map(|role| (role, format!("{name}_{role}")))
            .collect();
        Run { name, roles }
    }

    /// The schema's names for this run.
    pub fn names(&self) -> Names {
        self.roles
            .iter()
            .fold(Names::new(), |names, (role, deployed)| {
                names.role(role, deployed)
            })
    }

    /// Drops the database, then the roles (`DROP DATABASE` runs alone, not in a batch).
    pub async fn drop(&self, admin: &Client) -> Result<(), tokio_postgres::Error> {
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .await?;
        for (_, role) in &self.roles {
            admin
                .batch_execute(&format!("DROP ROLE IF EXISTS \"{role}\""))
                .await?;
        }
        Ok(())
    }
}

/// The server a benchmark runs on: `$DATABASE_URL`, or the local one.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Runs `bench` on a database of its own, made on the server at `$DATABASE_URL` and dropped
/// with the run's roles afterwards, whatever `bench` returned, and on Ctrl-C: the binary's
/// exit code, its error printed after `label`.
pub async fn in_throwaway_database<F, Fut>(label: &str, bench: F) -> ExitCode
where
    F: FnOnce(String, Names) -> Fut,
    Fut: Future<Output = Result<(), Box<dyn std::error::Error + Send + Sync>>>,
{
    let server = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.into());
    let name = format!("bench_{label}_{}", std::process::id());
    let run = Run::new(name.clone());
    let names = run.names();
    let outcome = async {
        let admin = connect(&server).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        // Interrupted (Ctrl-C), the run still drops its database and roles.
        let result = tokio::select! {
            result = bench(with_dbname(&server, &name), names) => result,
            _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
        };
        if let Err(error) = run.drop(&admin).await {
            eprintln!("{label}: could not drop {name} and its roles: {error}");
        }
        result
    }
    .await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{label}: {error}");
            ExitCode::FAILURE
        }
    }
}
