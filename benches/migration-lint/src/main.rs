//! v1 and v2 of one table, declared with `#[derive(PgTable)]`.
//!
//! v1 -> v2: `note` renamed to `remark` (`renamed_from`), `name` widened from varchar(50) to
//! varchar(100), a new nullable column `email`, and a new index on it. The same change is
//! written for drizzle-kit in `drizzle/` and diffed by migra from two databases (see run.sh).
//!
//! ```text
//! migration-lint migrations DIR   writes DIR/<stamp>_create_accounts/up.sql (v1 from nothing)
//!                                 and DIR/<stamp>_accounts_v2/up.sql (v1 -> v2)
//! migration-lint ddl v1|v2        prints Schema::to_ddl() of that version
//! migration-lint cli v1|v2 ARGS   schema_core::cli of that version (`migrate apply ...`)
//! ```

use std::path::Path;
use std::process::ExitCode;

use schema_core::migrate::Migrations;
use schema_core::Schema;

#[allow(dead_code)] // the structs only declare the table
mod v1 {
    use schema_core::PgTable;
    use uuid::Uuid;

    #[derive(PgTable)]
    #[pg(table = "accounts")]
    pub struct Account {
        #[pg(primary_key, default_sql = "gen_random_uuid()")]
        pub account_id: Uuid,
        #[pg(varchar = 50)]
        pub name: String,
        pub note: Option<String>,
    }
}

#[allow(dead_code)]
mod v2 {
    use schema_core::PgTable;
    use uuid::Uuid;

    #[derive(PgTable)]
    #[pg(table = "accounts", index(email))]
    pub struct Account {
        #[pg(primary_key, default_sql = "gen_random_uuid()")]
        pub account_id: Uuid,
        #[pg(varchar = 100)]
        pub name: String,
        #[pg(renamed_from = "note")]
        pub remark: Option<String>,
        pub email: Option<String>,
    }
}

fn schema(version: &str) -> Option<Schema> {
    match version {
        "v1" => Some(Schema::new().table::<v1::Account>()),
        "v2" => Some(Schema::new().table::<v2::Account>()),
        _ => None,
    }
}

/// 2026-01-01T00:00:00Z and a minute later: fixed, so the folder names do not change.
const T1: i64 = 1_767_225_600;
const T2: i64 = T1 + 60;

fn migrations(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    for (version, name, at) in [("v1", "create_accounts", T1), ("v2", "accounts_v2", T2)] {
        let code = schema(version).unwrap().model()?;
        let new = Migrations::read_dir(dir)?
            .plan_new(&code, name, &[], at)?
            .ok_or_else(|| format!("{version}: nothing to change"))?;
        let folder = Migrations::write_new(dir, &new)?;
        println!("{}", folder.join(schema_core::migrate::UP_FILE).display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: migration-lint migrations DIR | ddl v1|v2 | cli v1|v2 ARGS...";
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["migrations", dir] => match migrations(Path::new(dir)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("migration-lint: {error}");
                ExitCode::FAILURE
            }
        },
        ["ddl", version] if schema(version).is_some() => {
            match schema(version).unwrap().to_ddl() {
                Ok(ddl) => {
                    print!("{ddl}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("migration-lint: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        ["cli", version, rest @ ..] if schema(version).is_some() => {
            let argv = std::iter::once("migration-lint").chain(rest.iter().copied());
            ExitCode::from(schema_core::cli::run_with(schema(version).unwrap(), argv))
        }
        _ => {
            eprintln!("{usage}");
            ExitCode::from(2)
        }
    }
}
