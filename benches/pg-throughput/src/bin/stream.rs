//! Reads in constant memory: 1,000,000 `support_tickets` rows read with schema-core's
//! streaming read (`Db::stream_all`) and with `Db::select_all`, in the same run, each's rows per
//! second and the peak resident memory it added.
//!
//!   cargo run --release --manifest-path benches/pg-throughput/Cargo.toml --bin stream
//!
//! Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), ROWS
//! (1000000), RUNS (3). Targets: streaming adds at most 64 MiB of peak memory, at no fewer rows
//! per second than `select_all`.

#[path = "../data.rs"]
#[allow(dead_code)] // the row profile is the main benchmark's
mod data;
#[path = "../measure.rs"]
#[allow(dead_code)] // CPU time and the load are the other binaries'
mod measure;

use std::process::ExitCode;
use std::time::Instant;

use futures_util::TryStreamExt as _;
use schema_core::pg::Db;
use schema_core::Names;
use shared::schemas::db::{schema, InsertProvider, SupportTicket};

use measure::{connect, env_number, median, rss_kib};

const TARGET_MIB: f64 = 64.0;
/// Rows loaded per `copy_in`, so the input never holds the whole table.
const CHUNK: usize = 100_000;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    let rows: usize = env_number("ROWS", 1_000_000);
    let runs: usize = env_number("RUNS", 3);
    measure::in_throwaway_database("stream", |url, names| async move {
        bench(&url, &names, rows, runs).await
    })
    .await
}

async fn bench(url: &str, names: &Names, rows: usize, runs: usize) -> Result<(), Error> {
    let control = connect(url).await?;
    control
        .batch_execute(&schema().with_names(names.clone()).to_ddl()?)
        .await?;
    let mut db = Db::connect(url).await?;
    let providers: Vec<InsertProvider> = (0..50)
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
    let provider_ids: Vec<uuid::Uuid> = control
        .query("SELECT provider_id FROM providers", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut loaded = 0;
    while loaded < rows {
        let chunk = data::tickets(CHUNK.min(rows - loaded), &provider_ids);
        db.copy_in(&chunk).await?;
        loaded += chunk.len();
    }
    control
        .batch_execute("VACUUM ANALYZE support_tickets")
        .await?;
    let version: String = control.query_one("SHOW server_version", &[]).await?.get(0);
    eprintln!("stream: loaded {loaded} rows; PostgreSQL {version}");

    let mut results: Vec<(&str, Vec<f64>, Vec<f64>)> = vec![
        ("Db::stream_all", vec![], vec![]),
        ("Db::select_all", vec![], vec![]),
    ];
    for run in 0..runs {
        // Alternate which goes first.
        let order: [usize; 2] = if run % 2 == 0 { [0, 1] } else { [1, 0] };
        for which in order {
            let baseline = rss_baseline();
            let start = Instant::now();
            let count = if which == 0 {
                let mut stream = db.stream_all::<SupportTicket>().await?;
                let mut count = 0usize;
                let mut bytes = 0usize;
                while let Some(ticket) = stream.try_next().await? {
                    // Touch every row, as a consumer would (and so it is not optimized away).
                    bytes += ticket.subject.len();
                    count += 1;
                }
                std::hint::black_box(bytes);
                count
            } else {
                let all = db.select_all::<SupportTicket>().await?;
                let count = all.len();
                std::hint::black_box(&all);
                count
            };
            let seconds = start.elapsed().as_secs_f64();
            let added = match (rss_kib("VmHWM:"), baseline) {
                (Some(peak), Some(base)) => peak.saturating_sub(base) as f64 / 1024.0,
                _ => f64::NAN,
            };
            assert_eq!(count, loaded);
            results[which].1.push(count as f64 / seconds);
            results[which].2.push(added);
            eprintln!(
                "run {}/{runs}: {} {:.0} rows/s, +{added:.1} MiB peak",
                run + 1,
                results[which].0,
                count as f64 / seconds
            );
        }
    }
    println!("{loaded} rows of support_tickets, {runs} runs each (median); PostgreSQL {version}\n");
    println!("| read | rows/s | added peak memory |");
    println!("| --- | ---: | ---: |");
    for (name, rates, memory) in &results {
        println!(
            "| `{name}` | {:.0} | {:.1} MiB |",
            median(rates),
            median(memory)
        );
    }
    let (stream_rate, stream_mib) = (median(&results[0].1), median(&results[0].2));
    let select_rate = median(&results[1].1);
    let met = stream_mib <= TARGET_MIB && stream_rate >= select_rate;
    println!(
        "\n{} target: streaming adds at most {TARGET_MIB} MiB ({stream_mib:.1} MiB) at no fewer rows/s \
         than select_all ({:.2}x)",
        if met { "PASS" } else { "FAIL" },
        stream_rate / select_rate
    );
    Ok(())
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
extern "C" {
    fn malloc_trim(pad: usize) -> i32;
}

/// Hands the allocator's free memory back, resets the peak resident set to the current one,
/// and returns the current one (KiB): the peak after a read, less this, is what it added.
fn rss_baseline() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: glibc's malloc_trim takes no pointers and may be called at any time.
    unsafe {
        malloc_trim(0);
    }
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    rss_kib("VmRSS:")
}
