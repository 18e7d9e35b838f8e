//! The application's schema on the command line: `cargo run --example schema -- --help`.
//!
//! `dump`, `migrate new|apply|status`, `check`, `diff` and `queries` (the plan check of the
//! queries the application registers), all from [`schema_core::cli::run`] on the schema
//! declared in `src/schemas/db`.

fn main() -> std::process::ExitCode {
    schema_core::cli::run(shared::schemas::db::schema())
}
