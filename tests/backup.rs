//! What the row-level security policies do not cover, against the real database: backups with
//! `pg_dump`, the table owner (migrations, data fixes), and the provider scope, which the session
//! chooses itself.
//!
//! `support_tickets` forces row-level security, so every role but a superuser or one with
//! `BYPASSRLS` sees only what a policy grants it, the owner included. The backup role the README
//! documents (`BYPASSRLS`, member of `pg_read_all_data`) dumps every ticket; an owner without
//! `BYPASSRLS` running `pg_dump --enable-row-security` dumps none and still exits 0, while plain
//! `pg_dump` as that owner fails loudly.
//!
//! The `pg_dump` and `psql` binaries come from the `PATH`, else from the highest-versioned
//! `/usr/lib/postgresql/*/bin`. Each test works in its own throwaway database (see
//! `common::TestDb`).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::TestDb;
use postgres::error::SqlState;
use postgres::{Client, GenericClient, NoTls};
use shared::schemas::{PHYSICIAN_ROLE, PROVIDER_SETTING};
use uuid::Uuid;

const PROVIDERS: usize = 3;
const PER_PROVIDER: usize = 4;

/// A throwaway database with the schema and `PROVIDERS` providers holding `PER_PROVIDER`
/// tickets each, written by the test's superuser client.
struct Clinic {
    db: TestDb,
    providers: Vec<Uuid>,
    /// (provider, ticket)
    tickets: Vec<(Uuid, Uuid)>,
}

fn clinic() -> Clinic {
    let mut db = TestDb::with_schema();
    let (providers, tickets) = db.add_providers_with_tickets(PROVIDERS, PER_PROVIDER);
    Clinic {
        db,
        providers,
        tickets,
    }
}

/// Makes a new login role without `BYPASSRLS` (and not a superuser) the owner of the application's tables
/// (and of the `billing` schema), and returns its connection URL.
fn hand_tables_to_an_owner(db: &mut TestDb) -> (String, String) {
    let url = db.login_role_with("owner", "");
    let owner = db.role_name("owner");
    db.client()
        .batch_execute(&format!(
            "ALTER TABLE providers OWNER TO \"{owner}\";
             ALTER TABLE support_tickets OWNER TO \"{owner}\";
             ALTER SCHEMA billing OWNER TO \"{owner}\";
             ALTER TABLE billing.invoices OWNER TO \"{owner}\";
             ALTER TABLE billing.invoice_lines OWNER TO \"{owner}\";
             ALTER TABLE billing.patients OWNER TO \"{owner}\";"
        ))
        .unwrap();
    (owner, url)
}

/// A PostgreSQL client tool by name: from the `PATH`, else from the highest-versioned
/// `/usr/lib/postgresql/*/bin`.
fn client_tool(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(found) = on_path
        .iter()
        .map(|dir| dir.join(name))
        .find(|file| is_executable(file))
    {
        return found;
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(|part| part.parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            let file = entry.path().join("bin").join(name);
            is_executable(&file).then_some((version, file))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, file)) => file,
        None => panic!(
            "cannot find `{name}`: it is neither on the PATH nor in /usr/lib/postgresql/*/bin; \
             install the PostgreSQL client (e.g. `apt-get install postgresql-client`)"
        ),
    }
}

fn is_executable(file: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(file)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Runs `pg_dump --no-password [extra...] -d url`, the dump going to stdout (plain SQL).
fn pg_dump(url: &str, extra: &[&str]) -> Output {
    let pg_dump = client_tool("pg_dump");
    Command::new(&pg_dump)
        .arg("--no-password")
        .args(extra)
        .arg("-d")
        .arg(url)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", pg_dump.display()))
}

/// The data lines of the `COPY public.<table>` block of a plain-format dump.
///
/// # Panics
///
/// When the dump has no such block.
fn copy_rows<'a>(dump: &'a str, table: &str) -> Vec<&'a str> {
    let header = format!("COPY public.{table} (");
    let mut lines = dump.lines();
    lines
        .by_ref()
        .find(|line| line.starts_with(&header))
        .unwrap_or_else(|| panic!("the dump has no `{header}...` block"));
    lines.take_while(|line| *line != "\\.").collect()
}

fn stdout(output: &Output) -> &str {
    std::str::from_utf8(&output.stdout).expect("pg_dump writes UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn count_tickets(client: &mut impl GenericClient) -> i64 {
    client
        .query_one("SELECT count(*) FROM support_tickets", &[])
        .unwrap()
        .get(0)
}

#[test]
fn the_backup_role_dumps_every_ticket() {
    let mut c = clinic();
    let backup_url =
        c.db.login_role_with("backup", "BYPASSRLS IN ROLE \"pg_read_all_data\"");

    let output = pg_dump(&backup_url, &[]);
    assert!(
        output.status.success(),
        "pg_dump as the backup role failed ({}):\n{}",
        output.status,
        stderr(&output)
    );
    let dump = stdout(&output);
    let rows = copy_rows(dump, "support_tickets");
    assert_eq!(rows.len(), PROVIDERS * PER_PROVIDER);
    for (provider, ticket) in &c.tickets {
        let ticket = ticket.to_string();
        let row = rows
            .iter()
            .find(|row| row.starts_with(&ticket))
            .unwrap_or_else(|| panic!("ticket {ticket} is missing from the dump"));
        assert!(row.contains(&provider.to_string()));
    }
    assert_eq!(copy_rows(dump, "providers").len(), PROVIDERS);
}

#[test]
fn the_backup_restores_every_ticket() {
    let mut c = clinic();
    let backup_url =
        c.db.login_role_with("backup", "BYPASSRLS IN ROLE \"pg_read_all_data\"");
    let output = pg_dump(&backup_url, &[]);
    assert!(output.status.success(), "{}", stderr(&output));

    // Restored as the superuser into an empty database on the same server (the policies name
    // roles that exist there).
    let mut restored = TestDb::new();
    let psql = client_tool("psql");
    let mut child = Command::new(&psql)
        .args(["--no-password", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(restored.url())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", psql.display()));
    child
        .stdin
        .take()
        .expect("psql's stdin is piped")
        .write_all(&output.stdout)
        .expect("feed the dump to psql");
    let restore = child.wait_with_output().expect("wait for psql");
    assert!(
        restore.status.success(),
        "psql -v ON_ERROR_STOP=1 refused the dump ({}):\n{}",
        restore.status,
        stderr(&restore)
    );
    assert_eq!(
        count_tickets(restored.client()),
        (PROVIDERS * PER_PROVIDER) as i64
    );
    let forced: bool = restored
        .client()
        .query_one(
            "SELECT relforcerowsecurity FROM pg_class WHERE oid = 'public.support_tickets'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(forced, "the restored table still forces row-level security");
}

#[test]
fn pg_dump_with_enable_row_security_as_an_owner_without_bypassrls_dumps_no_ticket_and_exits_0() {
    let mut c = clinic();
    let (_, owner_url) = hand_tables_to_an_owner(&mut c.db);

    let output = pg_dump(&owner_url, &["--enable-row-security"]);
    assert!(
        output.status.success(),
        "pg_dump --enable-row-security failed ({}):\n{}",
        output.status,
        stderr(&output)
    );
    let dump = stdout(&output);
    // The silently empty backup: the table is there, its rows are not.
    assert_eq!(copy_rows(dump, "support_tickets"), Vec::<&str>::new());
    for (_, ticket) in &c.tickets {
        assert!(!dump.contains(&ticket.to_string()));
    }
    // Tables without row-level security are dumped whole.
    assert_eq!(copy_rows(dump, "providers").len(), PROVIDERS);
}

#[test]
fn plain_pg_dump_as_an_owner_without_bypassrls_fails_loudly() {
    let mut c = clinic();
    let (_, owner_url) = hand_tables_to_an_owner(&mut c.db);

    let output = pg_dump(&owner_url, &[]);
    assert!(
        !output.status.success(),
        "pg_dump as an owner without BYPASSRLS succeeded:\n{}",
        stdout(&output)
    );
    let message = stderr(&output);
    assert!(
        message.contains("row-level security"),
        "pg_dump's error does not mention row-level security:\n{message}"
    );
}

#[test]
fn a_table_owner_without_bypassrls_sees_and_changes_no_ticket() {
    let mut c = clinic();
    let (_, owner_url) = hand_tables_to_an_owner(&mut c.db);
    let mut owner = Client::connect(&owner_url, NoTls).unwrap();

    assert_eq!(count_tickets(&mut owner), 0);
    // A data fix "succeeds" and changes nothing.
    let updated = owner
        .execute("UPDATE support_tickets SET status = 'CLOSED'", &[])
        .unwrap();
    assert_eq!(updated, 0);
    let error = owner
        .execute(
            "INSERT INTO support_tickets (provider_id, subject, description) \
             VALUES ($1, 'by the owner', 'd')",
            &[&c.providers[0]],
        )
        .unwrap_err();
    let error = error.as_db_error().expect("the server refused the row");
    assert_eq!(*error.code(), SqlState::INSUFFICIENT_PRIVILEGE);
    assert!(
        error.message().contains("row-level security"),
        "unexpected error: {error}"
    );
    // Schema changes are the owner's as ever.
    owner
        .batch_execute("ALTER TABLE support_tickets ALTER COLUMN subject SET DEFAULT 'Help'")
        .unwrap();
    drop(owner);

    let still_open: i64 =
        c.db.client()
            .query_one(
                "SELECT count(*) FROM support_tickets WHERE status = 'OPEN'",
                &[],
            )
            .unwrap()
            .get(0);
    assert_eq!(still_open, (PROVIDERS * PER_PROVIDER) as i64);
}

#[test]
fn a_table_owner_with_bypassrls_sees_and_changes_every_ticket() {
    let mut c = clinic();
    let (owner_role, owner_url) = hand_tables_to_an_owner(&mut c.db);
    c.db.client()
        .batch_execute(&format!("ALTER ROLE \"{owner_role}\" BYPASSRLS"))
        .unwrap();
    let mut owner = Client::connect(&owner_url, NoTls).unwrap();

    let all = (PROVIDERS * PER_PROVIDER) as i64;
    assert_eq!(count_tickets(&mut owner), all);
    let updated = owner
        .execute("UPDATE support_tickets SET status = 'CLOSED'", &[])
        .unwrap();
    assert_eq!(updated as i64, all);
    owner
        .execute(
            "INSERT INTO support_tickets (provider_id, subject, description) \
             VALUES ($1, 'by the owner', 'd')",
            &[&c.providers[0]],
        )
        .unwrap();
    assert_eq!(count_tickets(c.db.client()), all + 1);
}

// The next two tests pin the server behaviour the README's trust boundary rests on (what a
// login holding the physician role could do with its own statements), not code of this crate.

#[test]
fn a_physician_login_can_set_its_scope_to_any_provider() {
    let mut c = clinic();
    let physician = c.db.names().role_name(PHYSICIAN_ROLE).to_string();
    let setting = c.db.names().setting_name(PROVIDER_SETTING).to_string();
    let physician_url = c.db.login_role("doctor", &physician);
    let mut session = Client::connect(&physician_url, NoTls).unwrap();

    // Nothing stops the session from naming another provider: the policy trusts the setting.
    let other = c.providers[1];
    let mut tx = session.transaction().unwrap();
    tx.batch_execute(&format!("SET LOCAL {setting} = '{other}'"))
        .unwrap();
    let seen: Vec<Uuid> = tx
        .query("SELECT provider_id FROM support_tickets", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    tx.commit().unwrap();
    assert_eq!(seen.len(), PER_PROVIDER);
    assert!(seen.iter().all(|p| *p == other));
}

#[test]
fn a_session_level_set_of_the_scope_outlives_the_transaction() {
    let mut c = clinic();
    let physician = c.db.names().role_name(PHYSICIAN_ROLE).to_string();
    let setting = c.db.names().setting_name(PROVIDER_SETTING).to_string();
    let physician_url = c.db.login_role("doctor", &physician);
    let mut session = Client::connect(&physician_url, NoTls).unwrap();

    let provider = c.providers[0];
    let mut tx = session.transaction().unwrap();
    tx.batch_execute(&format!("SET {setting} = '{provider}'"))
        .unwrap();
    tx.commit().unwrap();
    // The transaction is over; the scope is not, for this connection's next user too.
    assert_eq!(count_tickets(&mut session), PER_PROVIDER as i64);
    let mut tx = session.transaction().unwrap();
    assert_eq!(count_tickets(&mut tx), PER_PROVIDER as i64);
    tx.rollback().unwrap();
    assert_eq!(count_tickets(&mut session), PER_PROVIDER as i64);
}
