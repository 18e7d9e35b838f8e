//! The application's schema on the command line: `cargo run --example schema -- --help`.
//!
//! `dump`, `migrate new|apply|status`, `check`, `diff` and `queries` (the plan check of the
//! queries the application registers), all from [`schema_core::cli::run`] on the schema
//! declared in `src/schemas/db`. With `APP_MASTER_KEY` set (64 hexadecimal digits), the
//! program's keys ([`shared::keys::app_keys`]: that master key, the wrapped data keys in the
//! database of `DATABASE_URL`) serve `reencrypt billing.patients` too, through
//! [`schema_core::cli::run_encrypted`].

use std::process::ExitCode;

fn main() -> ExitCode {
    let schema = shared::schemas::db::schema();
    let Ok(master) = std::env::var(shared::keys::MASTER_KEY_VAR) else {
        return schema_core::cli::run(schema);
    };
    let database_url = std::env::var("DATABASE_URL").unwrap_or_default();
    let keys = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())
        .and_then(|runtime| {
            runtime
                .block_on(shared::keys::app_keys(&master, &database_url))
                .map_err(|problem| problem.to_string())
        });
    match keys {
        Ok(keys) => schema_core::cli::run_encrypted(schema, keys),
        Err(message) => {
            eprintln!("error: the program's keys: {message}");
            ExitCode::from(2)
        }
    }
}
