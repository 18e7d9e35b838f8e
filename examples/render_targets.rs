//! Times rendering the 41-table schema of the drift-check benchmark (`providers`, then 40
//! copies of `support_tickets`) for each target: `cargo run --release --example
//! render_targets`. The Citus rendering includes its rules check.

use std::time::{Duration, Instant};

use schema_core::{Schema, Table, TableDef, Target};
use shared::schemas::db::{Provider, SupportTicket, PHYSICIAN_ROLE, PROVIDER_SETTING};

fn schema() -> Schema {
    let seed: &'static TableDef = <SupportTicket as Table>::TABLE;
    let mut schema = Schema::new()
        .tenant_setting(PROVIDER_SETTING)
        .tenant_role(PHYSICIAN_ROLE)
        .table::<Provider>();
    for i in 1..=40 {
        let name: &'static str = Box::leak(format!("support_tickets_{i:02}").into_boxed_str());
        schema = schema.with_def(Box::leak(Box::new(TableDef { name, ..*seed })));
    }
    schema
}

fn median(target: Target, runs: usize) -> (Duration, usize) {
    let schema = schema().for_target(target);
    let mut times = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs {
        let start = Instant::now();
        bytes = schema.to_ddl().expect("the schema renders").len();
        times.push(start.elapsed());
    }
    times.sort();
    (times[runs / 2], bytes)
}

fn main() {
    let runs = 51;
    for target in [Target::Plain, Target::Citus] {
        let (time, bytes) = median(target, runs);
        println!(
            "{:<6} 41 tables: median {:>8.2} ms over {runs} renders ({bytes} bytes of DDL)",
            target.name(),
            time.as_secs_f64() * 1000.0
        );
    }
}
