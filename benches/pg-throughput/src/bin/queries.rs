//! Typed queries: the four questions the support schema's indexes exist for, asked through
//! schema-core's `Select` (over tokio-postgres and over sqlx), through the same SQL hand-written
//! on tokio-postgres prepared statements, and through sqlx `query_as` with
//! `#[derive(FromRow)]`; a keyset page deep in a provider's tickets against `OFFSET` at the same
//! depth; and the cost of building and rendering a query against sea-query.
//!
//!   cargo run --release --manifest-path benches/pg-throughput/Cargo.toml --bin queries
//!
//! Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), RUNS (5),
//! ROWS (100000), PROVIDERS (1000). Targets: every typed query at least 0.97× the hand-written
//! rows/s and at least 1.0× sqlx's; building and rendering no slower than sea-query.

#[path = "../data.rs"]
#[allow(dead_code)] // the row profile is the main benchmark's
mod data;
#[path = "../measure.rs"]
#[allow(dead_code)] // the memory readings are the other binaries'
mod measure;
#[path = "../paths.rs"]
#[allow(dead_code)] // the load paths are the main benchmark's
mod paths;

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use schema_core::pg::Db;
use schema_core::query::Select;
use schema_core::{Names, PgEnum};
use sea_query::{Expr, ExprTrait, Order, PostgresQueryBuilder, Query};
use shared::schemas::db::{
    schema, InsertProvider, SelectSupportTicket, SupportTicket, TicketStatus,
};
use sqlx::{Connection, PgConnection};
use tokio_postgres::{Client, Statement};
use uuid::Uuid;

use data::AGENTS;
use measure::{connect, cpu_seconds, env_number, load_average, median};
use paths::{hand_row, Error, SqlxTicket, SELECT_ALL};

/// Providers that hold many tickets, so that a page deep in their tickets exists.
const LARGE_PROVIDERS: usize = 10;
/// Tickets of each large provider.
const LARGE_TICKETS: usize = 2_000;
/// Rows of a page.
const PAGE: i64 = 20;
/// The deep page (counted from 1), `PAGE` rows each.
const DEEP_PAGE: i64 = 50;
/// Rows of the triage queue's page.
const TRIAGE_PAGE: i64 = 50;
/// Executions of each paged query per timed run.
const PAGED_EXECUTIONS: usize = 2_000;
/// Executions of the triage queue's page per timed run (the server sorts each status's
/// highest-priority group by `ticket_id`, several milliseconds a page).
const TRIAGE_EXECUTIONS: usize = 300;
/// Executions of the agent's workload (no page: every matching row) per timed run.
const WORKLOAD_EXECUTIONS: usize = 48;
/// Executions of the deep page per timed run, by keyset and by offset.
const DEEP_EXECUTIONS: usize = 500;
/// Builds per timed run of the build-and-render loop.
const BUILDS: usize = 200_000;

const STATUSES: [TicketStatus; 5] = [
    TicketStatus::Open,
    TicketStatus::InProgress,
    TicketStatus::WaitingOnCustomer,
    TicketStatus::Resolved,
    TicketStatus::Closed,
];

/// The hand-written SQL of the four questions: the text the typed queries render, word for
/// word (checked at start-up).
fn hand_sql() -> [String; 4] {
    [
        format!(
            r#"{SELECT_ALL} WHERE "provider_id" = $1 AND "status" = $2 ORDER BY "created_at" DESC, "ticket_id" DESC LIMIT $3"#
        ),
        format!(
            r#"{SELECT_ALL} WHERE "provider_id" = $1 ORDER BY "created_at" DESC, "ticket_id" DESC LIMIT $2"#
        ),
        format!(r#"{SELECT_ALL} WHERE "status" = $1 ORDER BY "priority", "ticket_id" LIMIT $2"#),
        format!(r#"{SELECT_ALL} WHERE "assigned_to" = $1 AND "status" = $2"#),
    ]
}

const QUERY_NAMES: [&str; 4] = [
    "a physician's tickets with a status, newest first, 20 a page",
    "a provider's recent tickets, 20",
    "the triage queue: a status by priority, 50 a page",
    "an agent's workload: assignee and status, every row",
];

/// The parameters of one execution: a provider, a status, an agent.
#[derive(Clone, Copy)]
struct Params {
    provider: Uuid,
    status: TicketStatus,
    agent: &'static str,
}

/// The typed queries, built from their parameters (building is part of every execution, as in
/// an application).
fn typed(query: usize, p: Params) -> Select<SupportTicket> {
    let select = Select::<SupportTicket>::new();
    match query {
        0 => select
            .filter(SupportTicket::provider_id.eq(p.provider))
            .filter(SupportTicket::status.eq(p.status))
            .order_by(SupportTicket::created_at.desc())
            .limit(PAGE),
        1 => select
            .filter(SupportTicket::provider_id.eq(p.provider))
            .order_by(SupportTicket::created_at.desc())
            .limit(PAGE),
        2 => select
            .filter(SupportTicket::status.eq(p.status))
            .order_by(SupportTicket::priority.asc())
            .limit(TRIAGE_PAGE),
        _ => select
            .filter(SupportTicket::assigned_to.eq(p.agent))
            .filter(SupportTicket::status.eq(p.status)),
    }
}

/// The same queries built with sea-query.
fn sea(query: usize, p: Params) -> (String, sea_query::Values) {
    let columns = [
        "ticket_id",
        "provider_id",
        "subject",
        "description",
        "context_url",
        "context_metadata",
        "category",
        "priority",
        "status",
        "assigned_to",
        "resolution_notes",
        "resolved_at",
        "satisfaction_rating",
        "satisfaction_comment",
        "screenshot_path",
        "created_at",
        "updated_at",
    ];
    let mut select = Query::select();
    select.columns(columns).from("support_tickets");
    match query {
        0 => select
            .and_where(Expr::col("provider_id").eq(p.provider))
            .and_where(Expr::col("status").eq(p.status.as_str()))
            .order_by("created_at", Order::Desc)
            .order_by("ticket_id", Order::Desc)
            .limit(PAGE as u64),
        1 => select
            .and_where(Expr::col("provider_id").eq(p.provider))
            .order_by("created_at", Order::Desc)
            .order_by("ticket_id", Order::Desc)
            .limit(PAGE as u64),
        2 => select
            .and_where(Expr::col("status").eq(p.status.as_str()))
            .order_by("priority", Order::Asc)
            .order_by("ticket_id", Order::Asc)
            .limit(TRIAGE_PAGE as u64),
        _ => select
            .and_where(Expr::col("assigned_to").eq(p.agent))
            .and_where(Expr::col("status").eq(p.status.as_str())),
    };
    select.build(PostgresQueryBuilder)
}

/// The parameters each query runs with, the same sequence for every path: providers and
/// statuses spread over the whole table, agents with their open work.
fn parameters(query: usize, providers: &[Uuid]) -> Vec<Params> {
    let mut rng = data::Rng::new(0xC0FF_EE00 + query as u64);
    let executions = match query {
        2 => TRIAGE_EXECUTIONS,
        3 => WORKLOAD_EXECUTIONS,
        _ => PAGED_EXECUTIONS,
    };
    (0..executions)
        .map(|i| Params {
            provider: rng.pick(providers),
            status: if query == 3 {
                [TicketStatus::InProgress, TicketStatus::WaitingOnCustomer][i % 2]
            } else {
                rng.pick(&STATUSES)
            },
            agent: AGENTS[(i / 2) % AGENTS.len()],
        })
        .collect()
}

const PATHS: [&str; 4] = [
    "schema-core `Db` typed query",
    "tokio-postgres prepared, `Row::get`",
    "sqlx `query_as` + `#[derive(FromRow)]`",
    "schema-core over sqlx typed query",
];

struct Conns {
    db: Db,
    hand: Client,
    hand_statements: Vec<Statement>,
    sqlx: PgConnection,
    crate_sqlx: PgConnection,
}

/// One execution by one path; the rows it read (their ids, to compare the paths).
async fn execute(
    conns: &mut Conns,
    path: usize,
    query: usize,
    p: Params,
    sql: &[String; 4],
    ids: Option<&mut Vec<Uuid>>,
) -> Result<usize, Error> {
    let rows: Vec<SelectSupportTicket> = match path {
        0 => conns.db.fetch_all(&typed(query, p)).await?,
        1 => {
            let statement = &conns.hand_statements[query];
            let rows = match query {
                0 => {
                    conns
                        .hand
                        .query(statement, &[&p.provider, &p.status, &PAGE])
                        .await?
                }
                1 => conns.hand.query(statement, &[&p.provider, &PAGE]).await?,
                2 => {
                    conns
                        .hand
                        .query(statement, &[&p.status, &TRIAGE_PAGE])
                        .await?
                }
                _ => conns.hand.query(statement, &[&p.agent, &p.status]).await?,
            };
            rows.iter().map(hand_row).collect()
        }
        2 => {
            let q = sqlx::query_as::<_, SqlxTicket>(&sql[query]);
            let q = match query {
                0 => q.bind(p.provider).bind(p.status.as_str()).bind(PAGE),
                1 => q.bind(p.provider).bind(PAGE),
                2 => q.bind(p.status.as_str()).bind(TRIAGE_PAGE),
                _ => q.bind(p.agent).bind(p.status.as_str()),
            };
            let rows = q.fetch_all(&mut conns.sqlx).await?;
            if let Some(ids) = ids {
                ids.extend(rows.iter().map(|r| r.ticket_id));
            }
            return Ok(rows.len());
        }
        _ => schema_core::sqlx::fetch_all(&mut conns.crate_sqlx, &typed(query, p)).await?,
    };
    if let Some(ids) = ids {
        ids.extend(rows.iter().map(|r| r.ticket_id));
    }
    Ok(rows.len())
}

#[tokio::main]
async fn main() -> ExitCode {
    measure::in_throwaway_database("queries", |url, names| async move {
        tokio::select! {
            result = bench(&url, &names) => result,
            _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
        }
    })
    .await
}

// The report walks several tables indexed the same way (query, then path) side by side.
#[allow(clippy::needless_range_loop)]
async fn bench(url: &str, names: &Names) -> Result<(), Error> {
    let rows: usize = env_number("ROWS", 100_000);
    let provider_count: usize = env_number("PROVIDERS", 1_000);
    let runs: usize = env_number("RUNS", 5);
    let load_start = load_average();

    // Build and render first: no server involved.
    let build = build_and_render(runs);
    for (query, (ours, theirs, _)) in build.iter().enumerate() {
        eprintln!(
            "queries: query {} built and rendered in {ours:.0} ns, by sea-query in {theirs:.0} ns",
            query + 1
        );
    }

    let control = connect(url).await?;
    control
        .batch_execute(&schema().with_names(names.clone()).to_ddl()?)
        .await?;
    let mut db = Db::connect(url).await?;
    let providers: Vec<InsertProvider> = (0..provider_count)
        .map(|i| {
            InsertProvider::new(
                format!("{:010}", 1_234_500_000 + i),
                format!("First{i}"),
                format!("Last{i}"),
                format!("dr{i}@clinic.example.com"),
            )
        })
        .collect();
    db.insert_many(&providers).await?;
    let provider_ids: Vec<Uuid> = control
        .query("SELECT provider_id FROM providers ORDER BY npi", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    // The first LARGE_PROVIDERS providers hold LARGE_TICKETS tickets each; the others share
    // the rest evenly. Tickets are raised three minutes apart.
    let mut tickets = data::tickets(rows, &provider_ids[LARGE_PROVIDERS..]);
    let base = Utc.with_ymd_and_hms(2024, 1, 1, 8, 0, 0).unwrap();
    for (i, ticket) in tickets.iter_mut().enumerate() {
        if i < LARGE_PROVIDERS * LARGE_TICKETS {
            ticket.provider_id = provider_ids[i % LARGE_PROVIDERS];
        }
        ticket.created_at = Some(base + Duration::minutes(3 * i as i64));
    }
    db.copy_in(&tickets).await?;
    drop(tickets);
    control.batch_execute("VACUUM ANALYZE").await?;
    let version: String = control.query_one("SHOW server_version", &[]).await?.get(0);
    eprintln!("queries: loaded {rows} tickets of {provider_count} providers; PostgreSQL {version}");

    let sql = hand_sql();
    for (query, text) in sql.iter().enumerate() {
        let p = Params {
            provider: provider_ids[0],
            status: TicketStatus::Open,
            agent: AGENTS[0],
        };
        let rendered = typed(query, p).to_sql()?.sql;
        if rendered != *text {
            return Err(format!("query {query}: typed {rendered}\nhand-written {text}").into());
        }
    }
    let hand = connect(url).await?;
    let mut hand_statements = Vec::new();
    for text in &sql {
        hand_statements.push(hand.prepare(text).await?);
    }
    let mut conns = Conns {
        db,
        hand,
        hand_statements,
        sqlx: PgConnection::connect(url).await?,
        crate_sqlx: PgConnection::connect(url).await?,
    };
    let params: Vec<Vec<Params>> = (0..4).map(|q| parameters(q, &provider_ids)).collect();

    // One untimed pass of every path over every parameter: fills the statement caches and
    // checks that the paths read the same rows, in the same order.
    for (query, list) in params.iter().enumerate() {
        let mut reference: Option<Vec<Uuid>> = None;
        for path in 0..PATHS.len() {
            let mut ids = Vec::new();
            for &p in list {
                execute(&mut conns, path, query, p, &sql, Some(&mut ids)).await?;
            }
            match &reference {
                None => reference = Some(ids),
                Some(r) if *r == ids => {}
                Some(_) => {
                    return Err(format!("query {query}: {} read other rows", PATHS[path]).into())
                }
            }
        }
        eprintln!(
            "queries: query {} reads {} rows in {} executions",
            query + 1,
            reference.as_ref().map_or(0, Vec::len),
            list.len()
        );
    }

    // rates[query][path] = rows/s of each run.
    let mut rates = vec![vec![Vec::new(); PATHS.len()]; 4];
    let mut seconds = vec![vec![Vec::new(); PATHS.len()]; 4];
    let mut cpu = vec![vec![Vec::new(); PATHS.len()]; 4];
    let mut row_counts = [0usize; 4];
    for run in 0..runs {
        for (query, list) in params.iter().enumerate() {
            for k in 0..PATHS.len() {
                let path = (k + run + query) % PATHS.len();
                let cpu_start = cpu_seconds();
                let start = Instant::now();
                let mut read = 0;
                for &p in list {
                    read += execute(&mut conns, path, query, p, &sql, None).await?;
                }
                let elapsed = start.elapsed().as_secs_f64();
                if let (Some(before), Some(after)) = (cpu_start, cpu_seconds()) {
                    cpu[query][path].push(after - before);
                }
                row_counts[query] = read;
                rates[query][path].push(read as f64 / elapsed);
                seconds[query][path].push(elapsed);
            }
        }
        eprintln!("queries: run {}/{runs} done", run + 1);
    }

    let deep = deep_page(&mut conns.db, &provider_ids[..LARGE_PROVIDERS], runs).await?;
    let load_end = load_average();

    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!(
        "{rows} tickets of {provider_count} providers ({LARGE_PROVIDERS} of them with \
         {LARGE_TICKETS} each), PostgreSQL {version}, nproc {}, commit {commit}, RUNS={runs} \
         (medians); load average at start {load_start}, at end {load_end}\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "| query | path | rows per run | median s | rows/s | vs hand-written | vs sqlx | client CPU s |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut verdicts = Vec::new();
    for query in 0..4 {
        let hand = median(&rates[query][1]);
        let sqlx = median(&rates[query][2]);
        for path in 0..PATHS.len() {
            let rate = median(&rates[query][path]);
            let vs_hand = if path == 1 {
                String::new()
            } else {
                format!("{:.2}×", rate / hand)
            };
            let vs_sqlx = if path == 2 {
                String::new()
            } else {
                format!("{:.2}×", rate / sqlx)
            };
            println!(
                "| {} | {} | {} | {:.3} | {:.0} | {vs_hand} | {vs_sqlx} | {:.2} |",
                QUERY_NAMES[query],
                PATHS[path],
                row_counts[query],
                median(&seconds[query][path]),
                rate,
                if cpu[query][path].is_empty() {
                    f64::NAN
                } else {
                    median(&cpu[query][path])
                }
            );
            if path == 0 || path == 3 {
                let other = if path == 0 {
                    hand
                } else {
                    median(&rates[query][3])
                };
                if path == 0 {
                    verdicts.push((
                        rate / other >= 0.97,
                        format!(
                            "query {}: {} at {:.2}× hand-written (target 0.97×)",
                            query + 1,
                            PATHS[path],
                            rate / other
                        ),
                    ));
                }
                verdicts.push((
                    rate / sqlx >= 1.0,
                    format!(
                        "query {}: {} at {:.2}× sqlx (target 1.0×)",
                        query + 1,
                        PATHS[path],
                        rate / sqlx
                    ),
                ));
            }
        }
    }
    println!();
    for (met, line) in &verdicts {
        println!("{} {line}", if *met { "PASS" } else { "FAIL" });
    }
    println!("\nsamples (rows/s, in run order):");
    for query in 0..4 {
        for path in 0..PATHS.len() {
            let samples: Vec<String> = rates[query][path]
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect();
            println!(
                "- query {} {}: {}",
                query + 1,
                PATHS[path],
                samples.join(" ")
            );
        }
    }

    let (keyset, offset, keyset_samples, offset_samples) = deep;
    println!(
        "\nPage {DEEP_PAGE} of {PAGE} rows (after {} rows) of a provider with {LARGE_TICKETS} \
         tickets, newest first, `Db::fetch_all`, {DEEP_EXECUTIONS} executions a run:\n",
        (DEEP_PAGE - 1) * PAGE
    );
    println!("| page by | median ms per page | pages/s |");
    println!("| --- | ---: | ---: |");
    println!(
        "| keyset `after(&last_row)` | {:.3} | {:.0} |",
        1e3 / keyset,
        keyset
    );
    println!(
        "| `offset({})` | {:.3} | {:.0} |",
        (DEEP_PAGE - 1) * PAGE,
        1e3 / offset,
        offset
    );
    println!(
        "\nkeyset is {:.2}× as fast as OFFSET at that depth",
        keyset / offset
    );
    println!(
        "samples (pages/s): keyset {}; offset {}",
        keyset_samples
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(" "),
        offset_samples
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    );

    println!("\nBuild and render (no server), {BUILDS} builds a run, median ns per query:\n");
    println!("| query | schema-core `Select` + `to_sql()` | sea-query + `build(PostgresQueryBuilder)` | ratio (sea-query time / schema-core time) | same SQL text |");
    println!("| --- | ---: | ---: | ---: | --- |");
    for (query, (ours, theirs, same)) in build.iter().enumerate() {
        println!(
            "| {} | {ours:.0} | {theirs:.0} | {:.2}× | {} |",
            QUERY_NAMES[query],
            theirs / ours,
            if *same { "yes" } else { "no" }
        );
    }
    for (query, (ours, theirs, _)) in build.iter().enumerate() {
        println!(
            "{} query {}: build and render in {ours:.0} ns against sea-query's {theirs:.0} ns (target: no slower)",
            if ours <= theirs { "PASS" } else { "FAIL" },
            query + 1
        );
    }
    Ok(())
}

/// Median ns per build-and-render of each query by schema-core and by sea-query, and whether
/// both rendered the same text.
fn build_and_render(runs: usize) -> Vec<(f64, f64, bool)> {
    let providers: Vec<Uuid> = {
        let mut rng = data::Rng::new(7);
        (0..64).map(|_| rng.uuid()).collect()
    };
    let params: Vec<Params> = (0..64)
        .map(|i| Params {
            provider: providers[i],
            status: STATUSES[i % 5],
            agent: AGENTS[i % AGENTS.len()],
        })
        .collect();
    (0..4)
        .map(|query| {
            let same = typed(query, params[0]).to_sql().unwrap().sql == sea(query, params[0]).0;
            let mut ours = Vec::new();
            let mut theirs = Vec::new();
            for run in 0..runs.max(3) {
                for which in [run % 2, 1 - run % 2] {
                    let start = Instant::now();
                    for i in 0..BUILDS {
                        let p = params[i % params.len()];
                        if which == 0 {
                            let select = typed(query, p);
                            let sql = select.to_sql().unwrap();
                            black_box((&sql.sql, sql.params.len()));
                        } else {
                            black_box(sea(query, p));
                        }
                    }
                    let ns = start.elapsed().as_nanos() as f64 / BUILDS as f64;
                    if which == 0 {
                        ours.push(ns);
                    } else {
                        theirs.push(ns);
                    }
                }
            }
            (median(&ours), median(&theirs), same)
        })
        .collect()
}

/// Pages per second for page `DEEP_PAGE` of the large providers' tickets, by keyset and by
/// offset (medians, then every sample).
async fn deep_page(
    db: &mut Db,
    providers: &[Uuid],
    runs: usize,
) -> Result<(f64, f64, Vec<f64>, Vec<f64>), Error> {
    let depth = (DEEP_PAGE - 1) * PAGE;
    let recent = |provider: Uuid| {
        Select::<SupportTicket>::new()
            .filter(SupportTicket::provider_id.eq(provider))
            .order_by(SupportTicket::created_at.desc())
            .limit(PAGE)
    };
    // The last row of the page before, for each provider, as an application holds it.
    let mut last_rows = Vec::new();
    for &provider in providers {
        let before = db.fetch_all(&recent(provider).offset(depth - PAGE)).await?;
        let last = before.last().ok_or("no page before the deep page")?.clone();
        let by_keyset = db.fetch_all(&recent(provider).after(&last)).await?;
        let by_offset = db.fetch_all(&recent(provider).offset(depth)).await?;
        let ids =
            |rows: &[SelectSupportTicket]| rows.iter().map(|r| r.ticket_id).collect::<Vec<_>>();
        if ids(&by_keyset) != ids(&by_offset) || by_keyset.len() != PAGE as usize {
            return Err("keyset and offset pages differ".into());
        }
        last_rows.push((provider, last));
    }
    let mut keyset = Vec::new();
    let mut offset = Vec::new();
    for run in 0..runs {
        for which in [run % 2, 1 - run % 2] {
            let start = Instant::now();
            for i in 0..DEEP_EXECUTIONS {
                let (provider, last) = &last_rows[i % last_rows.len()];
                let query = if which == 0 {
                    recent(*provider).after(last)
                } else {
                    recent(*provider).offset(depth)
                };
                black_box(db.fetch_all(&query).await?);
            }
            let rate = DEEP_EXECUTIONS as f64 / start.elapsed().as_secs_f64();
            if which == 0 {
                keyset.push(rate);
            } else {
                offset.push(rate);
            }
        }
    }
    Ok((median(&keyset), median(&offset), keyset, offset))
}
