//! Where the drift check's time goes, for each kind of shadow.
//!
//! `drift()` is one call, so its phases are timed on an instrumented copy of it: the same
//! public calls in the same order as `schema_core::pg::evolve::drift` (`Schema::model`, then
//! what `read_both` does: parse the URL, open two sessions at once, and on them run
//! `read_model` and `normalized_model` at the same time, joined as evolve.rs joins them; then
//! `diff` and `drift_lines`), with a clock read between them. The join is one phase; inside it
//! each side reads the clock as it ends, which changes nothing of how the two run together.
//! The copy's median total is printed next to `drift()`'s own, so that a copy that no longer
//! follows evolve.rs shows up.
//!
//! Right after the copy, off its clock, each side runs again alone, each on a new session of
//! its own (a fresh backend, as in the join): `read_model`, then `normalized_model`. Then
//! `normalized_model`'s work is done once more step by step, on a third new session: the
//! split. It takes the statements from evolve.rs's own `normalizing_statements`; `apply_and_read`
//! is private, so the split opens, applies, reads back and closes the shadow as evolve.rs does
//! for that kind of shadow. The split's median total is
//! printed next to the median of `normalized_model` alone, so that a split that no longer
//! follows evolve.rs shows up too.

use std::time::{Duration, Instant};

use schema_core::diff::diff;
use schema_core::model::SchemaModel;
use schema_core::pg::evolve::{drift_lines, normalized_model, normalizing_statements};
use schema_core::pg::introspect::{read_model, Scope};
use schema_core::pg::ConnectConfig;
use schema_core::render::script;
use schema_core::sql::{quote_ident, quote_literal};
use schema_core::Schema;
use tokio_postgres::{Client, Config, NoTls};

use crate::{check_no_drift, median, ms, Error, Kind};

/// The phases of the instrumented copy of `drift()`, in order; their sum is the copy's total.
const COPY: [&str; 4] = [
    "schema → model (client): `Schema::model`",
    "connect: two sessions to the checked database, at once",
    "live read and shadow at once: `join(read_model, normalized_model)`",
    "diff and lines (client): `diff`, `drift_lines`",
];

/// Where the join of the live read and `normalized_model` is in [`COPY`].
const JOINED: usize = 2;

/// The two sides of the join: each timed from the join's start to its own end inside the
/// copy, then alone, off the copy's clock.
const SIDES: [&str; 2] = [
    "live read: `read_model`",
    "shadow: `normalized_model`, the whole call",
];

/// The steps of the split of `normalized_model`, in order; each kind of shadow takes some.
const SPLIT: [&str; 8] = [
    "`CREATE DATABASE`",
    "connect to the shadow database",
    "emptiness check: `read_model`, empty scope",
    "open: `BEGIN` (Transaction: + `CREATE SCHEMA`, `search_path`)",
    "apply the normalizing DDL (`batch_execute`)",
    "shadow read: `read_model`",
    "close: `ROLLBACK` (SameServer: end the session)",
    "`DROP DATABASE … WITH (FORCE)`",
];

/// One breakdown run of one kind of shadow, in ms.
pub struct Sample {
    /// Per phase of the copy, in [`COPY`] order.
    copy: [f64; COPY.len()],
    /// Per side of the join, in [`SIDES`] order: from the join's start to that side's end,
    /// inside the copy (the join lasts as long as the longer).
    joined: [f64; SIDES.len()],
    /// Per side, in [`SIDES`] order: run alone, off the copy's clock.
    alone: [f64; SIDES.len()],
    /// Per step of the split, in [`SPLIT`] order; `None` for the steps this kind does not take.
    split: [Option<f64>; SPLIT.len()],
}

impl Sample {
    /// The instrumented copy's total.
    pub fn total(&self) -> f64 {
        self.copy.iter().sum()
    }

    /// The split's total.
    pub fn split_total(&self) -> f64 {
        self.split.iter().flatten().sum()
    }
}

/// Takes the time since the previous lap into the phase given.
struct Laps<const N: usize> {
    times: [Option<f64>; N],
    clock: Instant,
}

impl<const N: usize> Laps<N> {
    /// A clock started now, with no phase timed.
    fn start() -> Self {
        Laps {
            times: [None; N],
            clock: Instant::now(),
        }
    }

    /// Ends the current phase, which is phase `index`.
    fn lap(&mut self, index: usize) {
        let now = Instant::now();
        self.times[index] = Some(ms(now - self.clock));
        self.clock = now;
    }
}

/// Connects without TLS, the way evolve.rs does without the `tls` feature, driving the
/// connection on a task of its own whose handle ends when the connection has closed.
async fn connect_config(
    config: &Config,
) -> Result<(Client, tokio::task::JoinHandle<()>), tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    let handle = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok((client, handle))
}

/// `future`'s output and the time from `start` to its end.
async fn ended<T>(start: Instant, future: impl std::future::Future<Output = T>) -> (T, Duration) {
    let output = future.await;
    (output, start.elapsed())
}

/// The drift check of `schema` against the database at `url`, as `drift(url, schema, shadow)`
/// runs it, with each phase timed (in [`COPY`] order) and each side of the join timed to its
/// end; then, off the copy's clock and each on a new session of its own, each side alone and
/// the split of `normalized_model` for the same shadow. A `SameServer` split names its shadow
/// database `shadow_name`; a `Transaction` split its schema.
async fn instrumented_drift(
    url: &str,
    schema: &Schema,
    kind: Kind,
    shadow_url: &str,
    shadow_name: &str,
) -> Result<(Sample, Vec<String>), Error> {
    let mut laps = Laps::<{ COPY.len() }>::start();
    let code = schema.model()?;
    laps.lap(0);

    // read_both: two sessions, then the live read and the shadow on them at once.
    let config: Config = url.parse()?;
    let (first, second) =
        futures_util::future::join(connect_config(&config), connect_config(&config)).await;
    let ((live, _live), (shadow_session, _shadow)) = (first?, second?);
    laps.lap(1);
    let scope = Scope::of(&code);
    let start = Instant::now();
    let ((live_model, live_ended), (normalized, shadow_ended)) = futures_util::future::join(
        ended(start, read_model(&live, &scope)),
        ended(
            start,
            normalized_model(
                &shadow_session,
                &ConnectConfig::from(&config),
                &code,
                kind.shadow(shadow_url),
            ),
        ),
    )
    .await;
    let (live_model, normalized) = (live_model?, normalized?);
    laps.lap(JOINED);

    // drift
    let lines = drift_lines(&diff(&live_model, &normalized));
    laps.lap(3);
    let copy = laps.times.map(|t| t.unwrap_or_default());
    let joined = [ms(live_ended), ms(shadow_ended)];

    // Off the copy's clock, each on a session of its own opened for it (a new backend, as in
    // the join, with no catalog cached yet): each side alone, then the split.
    drop((live, shadow_session));
    let (live, _live) = connect_config(&config).await?;
    let start = Instant::now();
    let live_alone = read_model(&live, &scope).await?;
    let live_alone_ms = ms(start.elapsed());
    let (shadow_session, _shadow) = connect_config(&config).await?;
    let start = Instant::now();
    let normalized_alone = normalized_model(
        &shadow_session,
        &ConnectConfig::from(&config),
        &code,
        kind.shadow(shadow_url),
    )
    .await?;
    let shadow_alone_ms = ms(start.elapsed());
    check_no_drift(
        &format!("the sides run alone ({})", kind.label()),
        &drift_lines(&diff(&live_alone, &normalized_alone)),
    )?;
    let alone = [live_alone_ms, shadow_alone_ms];

    let (split_session, _split) = connect_config(&config).await?;
    let split = split_normalized(
        &split_session,
        &config,
        &code,
        kind,
        shadow_url,
        shadow_name,
    )
    .await?;
    Ok((
        Sample {
            copy,
            joined,
            alone,
            split,
        },
        lines,
    ))
}

/// What `normalized_model(live, live_config, code, shadow)` does on the server, step by step
/// (in [`SPLIT`] order), as evolve.rs's `apply_and_read` does it for each kind of shadow. The
/// model read back is checked to hold every table of `code`.
async fn split_normalized(
    live: &Client,
    live_config: &Config,
    code: &SchemaModel,
    kind: Kind,
    shadow_url: &str,
    shadow_name: &str,
) -> Result<[Option<f64>; SPLIT.len()], Error> {
    let ddl = script(&normalizing_statements(code));
    // evolve.rs's `scope_of`: what the code declares, without the names tables had before.
    let scope = Scope {
        tables: code.tables.iter().map(|t| t.name.clone()).collect(),
        roles: code.roles.clone(),
        enums: code.enums.iter().map(|e| e.name.clone()).collect(),
        extensions: code.extensions.clone(),
        namespaces: code.namespaces.iter().map(|n| n.name.clone()).collect(),
    };
    let mut laps = Laps::<{ SPLIT.len() }>::start();
    let read = match kind {
        Kind::Transaction => {
            live.batch_execute("BEGIN").await?;
            let result = async {
                let path: String = live
                    .query_one("SELECT pg_catalog.current_setting('search_path')", &[])
                    .await?
                    .get(0);
                live.batch_execute(&format!(
                    "CREATE SCHEMA {name}; SELECT pg_catalog.set_config('search_path', {path}, true)",
                    name = quote_ident(shadow_name),
                    path = quote_literal(&format!("{}, {path}", quote_ident(shadow_name))),
                ))
                .await?;
                laps.lap(3);
                live.batch_execute(&ddl).await?;
                laps.lap(4);
                let model = read_model(live, &scope).await?;
                laps.lap(5);
                Ok::<_, Error>(model)
            }
            .await;
            live.batch_execute("ROLLBACK").await?;
            laps.lap(6);
            result?
        }
        Kind::SameServer => {
            live.batch_execute(&format!("CREATE DATABASE {}", quote_ident(shadow_name)))
                .await?;
            laps.lap(0);
            let mut config = live_config.clone();
            config.dbname(shadow_name);
            let result = async {
                let (client, connection) = connect_config(&config).await?;
                laps.lap(1);
                client.batch_execute(&ddl).await?;
                laps.lap(4);
                let model = read_model(&client, &scope).await?;
                laps.lap(5);
                drop(client);
                let _ = connection.await;
                laps.lap(6);
                Ok::<_, Error>(model)
            }
            .await;
            let dropped = live
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_ident(shadow_name)
                ))
                .await;
            laps.lap(7);
            let model = result?;
            dropped?;
            model
        }
        Kind::Url => {
            let (client, _connection) = connect_config(&shadow_url.parse()?).await?;
            laps.lap(1);
            let existing = read_model(&client, &Scope::default()).await?;
            if !existing.unmanaged_tables.is_empty() {
                return Err(format!(
                    "the shadow database is not empty: {}",
                    existing.unmanaged_tables.join(", ")
                )
                .into());
            }
            laps.lap(2);
            client.batch_execute("BEGIN").await?;
            laps.lap(3);
            let result = async {
                client.batch_execute(&ddl).await?;
                laps.lap(4);
                let model = read_model(&client, &scope).await?;
                laps.lap(5);
                Ok::<_, Error>(model)
            }
            .await;
            client.batch_execute("ROLLBACK").await?;
            laps.lap(6);
            result?
        }
    };
    if read.tables.len() != code.tables.len() {
        return Err(format!(
            "the split's shadow read back {} tables, expected {}",
            read.tables.len(),
            code.tables.len()
        )
        .into());
    }
    Ok(laps.times)
}

/// What one breakdown run needs: the run's database, the empty database for `Shadow::Url`, the
/// prefix of the split's shadow names, and the schema.
pub struct Probe<'a> {
    url: &'a str,
    shadow_url: &'a str,
    shadow_name: &'a str,
    schema: &'a Schema,
    /// Runs so far, to name each shadow of the split apart.
    count: usize,
}

impl<'a> Probe<'a> {
    /// A probe of the drift check of `schema` against `url`.
    pub fn new(
        url: &'a str,
        shadow_url: &'a str,
        shadow_name: &'a str,
        schema: &'a Schema,
    ) -> Probe<'a> {
        Probe {
            url,
            shadow_url,
            shadow_name,
            schema,
            count: 0,
        }
    }

    /// Runs the instrumented copy with `kind` of shadow, then each side alone and the split (a
    /// shadow named `<shadow_name>_<n>`); the copy and the sides alone must find no drift.
    pub async fn run(&mut self, kind: Kind) -> Result<Sample, Error> {
        self.count += 1;
        let shadow = format!("{}_{}", self.shadow_name, self.count);
        let (sample, lines) =
            instrumented_drift(self.url, self.schema, kind, self.shadow_url, &shadow).await?;
        check_no_drift(
            &format!("the instrumented drift check ({})", kind.label()),
            &lines,
        )?;
        Ok(sample)
    }
}

/// The breakdown's samples, one per timed run and kind of shadow.
pub struct Breakdown {
    /// The samples of each kind, in [`Kind::ALL`] order, each in run order.
    pub samples: [Vec<Sample>; 3],
}

impl Breakdown {
    /// No samples yet, room for `runs` of each kind.
    pub fn new(runs: usize) -> Self {
        Breakdown {
            samples: Kind::ALL.map(|_| Vec::with_capacity(runs)),
        }
    }

    /// Prints the phases as a markdown table, one column per kind of shadow (median ms and
    /// share of the sum of the copy's medians): the copy's phases, with each side of the join
    /// (inside it, then alone) and the split under the join; the copy's total next to
    /// `drift()`'s median, and the split's total next to the median of `normalized_model`
    /// alone. Then every run's figures.
    pub fn print(&self, drift_medians: &[f64; 3]) {
        let column = |samples: &[Sample], f: &dyn Fn(&Sample) -> f64| {
            median(&samples.iter().map(f).collect::<Vec<f64>>())
        };
        let copy: Vec<Vec<f64>> = self
            .samples
            .iter()
            .map(|s| (0..COPY.len()).map(|i| column(s, &|x| x.copy[i])).collect())
            .collect();
        let sums: Vec<f64> = copy.iter().map(|c| c.iter().sum()).collect();
        let cell = |k: usize, m: f64| format!("{m:.1} ({:.0}%)", 100.0 * m / sums[k]);
        let row = |label: &str, f: &dyn Fn(&Sample) -> f64| {
            let cells: Vec<String> = self
                .samples
                .iter()
                .enumerate()
                .map(|(k, s)| cell(k, column(s, f)))
                .collect();
            println!("| {label} | {} |", cells.join(" | "));
        };
        println!(
            "where the drift check's time goes: an instrumented copy of drift() (the same public \
             calls, a clock read between them; each side of the join also reads it as it ends), \
             then, off the copy's clock and each on a new session, each side alone and the split \
             of normalized_model (the same steps), run after the timed measurements in each of \
             the {} runs above; median ms, share of the sum of the copy's medians:",
            self.samples[0].len()
        );
        println!();
        println!(
            "| phase | `{}` | `{}` | `{}` |",
            Kind::ALL[0].label(),
            Kind::ALL[1].label(),
            Kind::ALL[2].label()
        );
        println!("| --- | ---: | ---: | ---: |");
        for (i, phase) in COPY.iter().enumerate() {
            row(phase, &|x| x.copy[i]);
            if i != JOINED {
                continue;
            }
            for (j, side) in SIDES.iter().enumerate() {
                row(
                    &format!("&nbsp;&nbsp;in the join, to its end: {side}"),
                    &|x| x.joined[j],
                );
            }
            for (j, side) in SIDES.iter().enumerate() {
                row(
                    &format!("&nbsp;&nbsp;alone (off the clock): {side}"),
                    &|x| x.alone[j],
                );
            }
            for (j, step) in SPLIT.iter().enumerate() {
                let cells: Vec<String> = self
                    .samples
                    .iter()
                    .enumerate()
                    .map(|(k, s)| {
                        let times: Vec<f64> = s.iter().filter_map(|x| x.split[j]).collect();
                        if times.is_empty() {
                            "–".to_string()
                        } else {
                            cell(k, median(&times))
                        }
                    })
                    .collect();
                println!(
                    "| &nbsp;&nbsp;&nbsp;&nbsp;split (alone): {step} | {} |",
                    cells.join(" | ")
                );
            }
            let cells: Vec<String> = self
                .samples
                .iter()
                .map(|s| format!("{:.1}", column(s, &Sample::split_total)))
                .collect();
            println!(
                "| &nbsp;&nbsp;&nbsp;&nbsp;split (alone): total (median of its totals; compare `normalized_model` alone) | {} |",
                cells.join(" | ")
            );
        }
        let cells: Vec<String> = self
            .samples
            .iter()
            .map(|s| format!("{:.1}", column(s, &Sample::total)))
            .collect();
        println!(
            "| total of the copy (median of its totals) | {} |",
            cells.join(" | ")
        );
        let cells: Vec<String> = drift_medians.iter().map(|m| format!("{m:.1}")).collect();
        println!(
            "| `drift()` itself (median of the timed runs) | {} |",
            cells.join(" | ")
        );
        println!();
        println!("breakdown samples (ms, in run order):");
        let list = |samples: &[Sample], f: &dyn Fn(&Sample) -> f64| {
            samples
                .iter()
                .map(|x| format!("{:.1}", f(x)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        for (kind, samples) in Kind::ALL.iter().zip(&self.samples) {
            println!("  {}", kind.label());
            println!("    copy total          {}", list(samples, &Sample::total));
            println!(
                "    join                {}",
                list(samples, &|x| x.copy[JOINED])
            );
            println!(
                "    live read in join   {}",
                list(samples, &|x| x.joined[0])
            );
            println!(
                "    shadow in join      {}",
                list(samples, &|x| x.joined[1])
            );
            println!("    live read alone     {}", list(samples, &|x| x.alone[0]));
            println!("    shadow alone        {}", list(samples, &|x| x.alone[1]));
            println!(
                "    split total         {}",
                list(samples, &Sample::split_total)
            );
        }
    }
}
