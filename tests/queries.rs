//! Typed queries against the real database: filters over every kind of column, orders and
//! pages, counts and projections, writes by filter, one prepared statement per query shape,
//! and row-level security holding for all of them under a physician's scope.

mod common;

use common::TestDb;
use futures_util::TryStreamExt;
use schema_core::pg::{ConstraintKind, Db, PgError};
use schema_core::query::{Delete, QueryError, Select, Update};
use schema_core::{PgEnum, PgTable, Schema};
use shared::schemas::db::provider_transaction;
use shared::schemas::{
    InsertSupportTicket, SelectSupportTicket, SupportTicket, TicketPriority, TicketStatus,
    UpdateSupportTicket,
};
use uuid::Uuid;

fn run<F: std::future::Future<Output = ()>>(future: F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future);
}

/// A ticket of `provider` with these values, inserted by the owner.
async fn ticket(
    db: &Db,
    provider: Uuid,
    subject: &str,
    status: TicketStatus,
    priority: TicketPriority,
    rating: Option<i32>,
) -> SelectSupportTicket {
    let mut row = InsertSupportTicket::new(provider, subject.into(), "private details".into());
    row.status = Some(status);
    row.priority = Some(priority);
    row.satisfaction_rating = rating;
    db.insert(&row).await.unwrap()
}

/// The subjects of `rows`, sorted: for comparing sets of rows.
fn subjects(rows: &[SelectSupportTicket]) -> Vec<String> {
    let mut subjects: Vec<String> = rows.iter().map(|t| t.subject.clone()).collect();
    subjects.sort();
    subjects
}

/// Two providers (A and B) holding five tickets between them, written by the owner.
async fn tickets(db: &Db, a: Uuid, b: Uuid) {
    use TicketPriority::*;
    use TicketStatus::*;
    ticket(db, a, "a open urgent", Open, Urgent, None).await;
    ticket(db, a, "a 50% off_label", InProgress, Low, Some(5)).await;
    ticket(db, a, "a resolved", Resolved, Medium, Some(2)).await;
    ticket(db, b, "b open", Open, High, Some(4)).await;
    ticket(db, b, "b closed", Closed, Low, None).await;
}

#[test]
fn filters_read_exactly_the_rows_they_say() {
    let mut test = TestDb::with_schema();
    let (providers, _) = test.add_providers_with_tickets(2, 0);
    let (a, b) = (providers[0], providers[1]);
    run(async {
        let db = Db::connect(test.url()).await.unwrap();
        tickets(&db, a, b).await;
        let read = |query: Select<SupportTicket>| {
            let db = &db;
            async move { subjects(&db.fetch_all(&query).await.unwrap()) }
        };
        let all = Select::<SupportTicket>::new;

        // A text enum binds as its text; a list is one array parameter.
        assert_eq!(
            read(all().filter(SupportTicket::status.eq(TicketStatus::Open))).await,
            ["a open urgent", "b open"]
        );
        assert_eq!(
            read(all().filter(
                SupportTicket::status.in_list([TicketStatus::Resolved, TicketStatus::Closed])
            ))
            .await,
            ["a resolved", "b closed"]
        );
        assert!(
            read(all().filter(SupportTicket::status.in_list(Vec::<TicketStatus>::new())))
                .await
                .is_empty()
        );
        // A nullable column compares with a plain value; NULL passes neither `ne` nor `eq`,
        // but is distinct from every value.
        assert_eq!(
            read(all().filter(SupportTicket::satisfaction_rating.ge(4))).await,
            ["a 50% off_label", "b open"]
        );
        assert_eq!(
            read(all().filter(SupportTicket::satisfaction_rating.ne(5))).await,
            ["a resolved", "b open"]
        );
        assert_eq!(
            read(all().filter(SupportTicket::satisfaction_rating.is_distinct_from(5))).await,
            ["a open urgent", "a resolved", "b closed", "b open"]
        );
        assert_eq!(
            read(all().filter(SupportTicket::satisfaction_rating.is_null())).await,
            ["a open urgent", "b closed"]
        );
        assert_eq!(
            read(all().filter(SupportTicket::satisfaction_rating.between(2, 4))).await,
            ["a resolved", "b open"]
        );
        // Text: `starts_with` takes its prefix literally, `ilike` ignores case.
        assert_eq!(
            read(all().filter(SupportTicket::subject.starts_with("a 50% off_"))).await,
            ["a 50% off_label"]
        );
        assert!(
            read(all().filter(SupportTicket::subject.starts_with("a 5_%")))
                .await
                .is_empty()
        );
        assert_eq!(
            read(all().filter(SupportTicket::subject.ilike("B %"))).await,
            ["b closed", "b open"]
        );
        // And, or, not over a provider's tickets.
        let of_a = SupportTicket::provider_id.eq(a);
        assert_eq!(
            read(
                all().filter(
                    of_a.clone().and(
                        SupportTicket::priority
                            .eq(TicketPriority::Urgent)
                            .or(SupportTicket::satisfaction_rating.lt(3))
                    )
                )
            )
            .await,
            ["a open urgent", "a resolved"]
        );
        assert_eq!(read(all().filter(of_a.not())).await, ["b closed", "b open"]);
    });
}

#[test]
fn counts_existence_one_row_projections_and_streams() {
    let mut test = TestDb::with_schema();
    let (providers, _) = test.add_providers_with_tickets(2, 0);
    let (a, b) = (providers[0], providers[1]);
    run(async {
        let db = Db::connect(test.url()).await.unwrap();
        tickets(&db, a, b).await;
        let open =
            Select::<SupportTicket>::new().filter(SupportTicket::status.eq(TicketStatus::Open));
        assert_eq!(db.count(&open).await.unwrap(), 2);
        assert!(db.exists(&open).await.unwrap());
        let none = Select::<SupportTicket>::new().filter(SupportTicket::assigned_to.eq("nobody"));
        assert_eq!(db.count(&none).await.unwrap(), 0);
        assert!(!db.exists(&none).await.unwrap());
        assert_eq!(db.fetch_optional(&none).await.unwrap(), None);

        let first = db
            .fetch_optional(&open.clone().order_by(SupportTicket::subject.desc()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.subject, "b open");

        let pairs: Vec<(String, Option<i32>)> = db
            .fetch_columns(
                &Select::<SupportTicket>::new()
                    .filter(SupportTicket::provider_id.eq(a))
                    .order_by(SupportTicket::subject.asc())
                    .columns((SupportTicket::subject, SupportTicket::satisfaction_rating)),
            )
            .await
            .unwrap();
        assert_eq!(
            pairs,
            [
                ("a 50% off_label".to_string(), Some(5)),
                ("a open urgent".to_string(), None),
                ("a resolved".to_string(), Some(2)),
            ]
        );
        let statuses: Vec<(TicketStatus,)> = db
            .fetch_columns(
                &Select::<SupportTicket>::new()
                    .filter(SupportTicket::provider_id.eq(b))
                    .order_by(SupportTicket::status.asc())
                    .columns((SupportTicket::status,)),
            )
            .await
            .unwrap();
        assert_eq!(statuses, [(TicketStatus::Closed,), (TicketStatus::Open,)]);

        let streamed: Vec<SelectSupportTicket> = db
            .fetch_stream(&open)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(subjects(&streamed), ["a open urgent", "b open"]);
    });
}

#[test]
fn keyset_pages_put_together_are_the_whole_ordered_result() {
    let mut test = TestDb::with_schema();
    let (providers, _) = test.add_providers_with_tickets(2, 0);
    let (a, b) = (providers[0], providers[1]);
    run(async {
        let db = Db::connect(test.url()).await.unwrap();
        tickets(&db, a, b).await;
        tickets(&db, a, b).await;
        let orders = [
            Select::<SupportTicket>::new().order_by(SupportTicket::created_at.desc()),
            // Mixed directions, and ties on the first key broken by the next ones.
            Select::<SupportTicket>::new()
                .order_by(SupportTicket::status.asc())
                .order_by(SupportTicket::subject.desc()),
            Select::<SupportTicket>::new()
                .filter(SupportTicket::provider_id.eq(a))
                .order_by(SupportTicket::priority.asc()),
        ];
        for order in orders {
            let whole = db.fetch_all(&order).await.unwrap();
            for size in [1, 2, 3, 7] {
                let mut pages = Vec::new();
                let mut query = order.clone().limit(size);
                loop {
                    let page = db.fetch_all(&query).await.unwrap();
                    let Some(last) = page.last() else { break };
                    query = order.clone().limit(size).after(last);
                    pages.extend(page);
                }
                assert_eq!(pages, whole, "pages of {size} of {order:?}");
                let mut by_offset = Vec::new();
                for page in 0.. {
                    let rows = db
                        .fetch_all(&order.clone().limit(size).offset(page * size))
                        .await
                        .unwrap();
                    if rows.is_empty() {
                        break;
                    }
                    by_offset.extend(rows);
                }
                assert_eq!(by_offset, whole, "offset pages of {size} of {order:?}");
            }
        }

        // A nullable column cannot be paged after a row: refused before anything is sent.
        let row = db.fetch_all(&Select::<SupportTicket>::new()).await.unwrap()[0].clone();
        let error = db
            .fetch_all(
                &Select::<SupportTicket>::new()
                    .order_by(SupportTicket::satisfaction_rating.desc())
                    .after(&row),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                PgError::Query(QueryError::NullableKeysetColumn {
                    column: "satisfaction_rating",
                    ..
                })
            ),
            "{error}"
        );
    });
}

#[test]
fn every_list_length_shares_one_prepared_statement() {
    let mut test = TestDb::with_schema();
    let (providers, _) = test.add_providers_with_tickets(2, 0);
    let (a, b) = (providers[0], providers[1]);
    run(async {
        let db = Db::connect(test.url()).await.unwrap();
        tickets(&db, a, b).await;
        let prepared = || async {
            let row = db
                .client()
                .query_one(
                    "SELECT count(*) FROM pg_prepared_statements WHERE strpos(statement, $1) > 0",
                    &[&r#""provider_id" = ANY("#],
                )
                .await
                .unwrap();
            row.get::<_, i64>(0)
        };
        for list in [vec![a], vec![a, b], vec![b, a, Uuid::nil()]] {
            let query = Select::<SupportTicket>::new()
                .filter(SupportTicket::provider_id.in_list(list))
                .limit(10);
            db.fetch_all(&query).await.unwrap();
        }
        assert_eq!(prepared().await, 1);
    });
}

#[test]
fn writes_by_filter_return_the_rows_they_changed_and_need_a_filter() {
    let mut test = TestDb::with_schema();
    let (providers, _) = test.add_providers_with_tickets(2, 0);
    let (a, b) = (providers[0], providers[1]);
    run(async {
        let db = Db::connect(test.url()).await.unwrap();
        tickets(&db, a, b).await;
        let patch = UpdateSupportTicket {
            status: Some(TicketStatus::InProgress),
            assigned_to: Some(Some("agent 7".into())),
            ..Default::default()
        };
        let changed = db
            .update_where(&Update::new(&patch).filter(SupportTicket::status.eq(TicketStatus::Open)))
            .await
            .unwrap();
        assert_eq!(subjects(&changed), ["a open urgent", "b open"]);
        assert!(changed.iter().all(|t| t.status == TicketStatus::InProgress
            && t.assigned_to.as_deref() == Some("agent 7")
            && t.updated_at > t.created_at));
        let open =
            Select::<SupportTicket>::new().filter(SupportTicket::status.eq(TicketStatus::Open));
        assert_eq!(db.count(&open).await.unwrap(), 0);

        // Without a filter, refused before anything is sent; `all_rows` says it is meant.
        let error = db.update_where(&Update::new(&patch)).await.unwrap_err();
        assert!(
            matches!(
                error,
                PgError::Query(QueryError::Unfiltered {
                    table: "support_tickets"
                })
            ),
            "{error}"
        );
        let error = db
            .delete_where(&Delete::<SupportTicket>::new())
            .await
            .unwrap_err();
        assert!(
            matches!(error, PgError::Query(QueryError::Unfiltered { .. })),
            "{error}"
        );
        assert_eq!(db.count(&Select::<SupportTicket>::new()).await.unwrap(), 5);

        // A patch is validated as for an update by key.
        let invalid = UpdateSupportTicket {
            satisfaction_rating: Some(Some(9)),
            ..Default::default()
        };
        let error = db
            .update_where(&Update::new(&invalid).filter(SupportTicket::provider_id.eq(a)))
            .await
            .unwrap_err();
        assert!(matches!(error, PgError::Validation(_)), "{error}");

        let deleted = db
            .delete_where(&Delete::new().filter(SupportTicket::provider_id.eq(b)))
            .await
            .unwrap();
        assert_eq!(subjects(&deleted), ["b closed", "b open"]);
        let deleted = db
            .delete_where(&Delete::<SupportTicket>::new().all_rows())
            .await
            .unwrap();
        assert_eq!(deleted.len(), 3);
    });
}

#[test]
fn a_physicians_typed_queries_and_writes_never_reach_another_provider() {
    let mut test = TestDb::with_schema();
    let (providers, _) = test.add_providers_with_tickets(2, 0);
    let (a, b) = (providers[0], providers[1]);
    let physician = test
        .names()
        .role_name(shared::schemas::PHYSICIAN_ROLE)
        .to_string();
    let url = test.login_role("doctor", &physician);
    let names = test.names().clone();
    run(async {
        let owner = Db::connect(test.url()).await.unwrap();
        tickets(&owner, a, b).await;
        let mut db = Db::connect(&url).await.unwrap();
        let tx = provider_transaction(&mut db, &names, a).await.unwrap();
        let everything = Select::<SupportTicket>::new();
        let seen = tx.fetch_all(&everything).await.unwrap();
        assert_eq!(seen.len(), 3);
        assert!(seen.iter().all(|t| t.provider_id == a));
        let of_b = Select::<SupportTicket>::new().filter(SupportTicket::provider_id.eq(b));
        assert!(tx.fetch_all(&of_b).await.unwrap().is_empty());
        assert_eq!(tx.count(&of_b).await.unwrap(), 0);
        assert!(!tx.exists(&of_b).await.unwrap());

        // What a physician may change, changed by a filter that B's tickets also match.
        let patch = UpdateSupportTicket {
            subject: Some("edited".into()),
            ..Default::default()
        };
        let open = SupportTicket::status.eq(TicketStatus::Open);
        let changed = tx
            .update_where(&Update::new(&patch).filter(open.clone()))
            .await
            .unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].provider_id, a);
        let gone = tx
            .delete_where(&Delete::new().filter(SupportTicket::provider_id.eq(b)))
            .await
            .unwrap();
        assert!(gone.is_empty());
        let everywhere = tx
            .update_where(&Update::new(&patch).all_rows())
            .await
            .unwrap();
        assert!(everywhere.iter().all(|t| t.provider_id == a));
        tx.commit().await.unwrap();

        // The column grants hold: a physician does not set a ticket's status.
        let tx = provider_transaction(&mut db, &names, a).await.unwrap();
        let triage = UpdateSupportTicket {
            status: Some(TicketStatus::Closed),
            ..Default::default()
        };
        let error = tx
            .update_where(&Update::new(&triage).filter(open))
            .await
            .unwrap_err();
        assert_eq!(
            error.constraint().map(|v| v.kind),
            Some(ConstraintKind::Denied),
            "{error}"
        );
        drop(tx);

        let b_subjects = owner.fetch_all(&of_b).await.unwrap();
        assert_eq!(subjects(&b_subjects), ["b closed", "b open"]);
    });
}

/// Where a job stands: the native type `job_state`.
#[derive(PgEnum, Clone, Copy, Debug, PartialEq)]
#[pg(native = "job_state", rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
}

/// A job, with a native enum column and an array of text.
#[derive(PgTable)]
#[pg(table = "jobs")]
pub struct Job {
    #[pg(primary_key)]
    pub job_id: i64,
    pub state: JobState,
    pub previous: Option<JobState>,
    pub tags: Vec<String>,
    pub payload: serde_json::Value,
}

#[test]
fn native_enums_arrays_and_jsonb_compare_as_their_types() {
    let schema = Schema::new().table::<Job>();
    let test = TestDb::with(&schema);
    run(async {
        let db = Db::connect(test.url()).await.unwrap();
        let rows = [
            (
                1,
                JobState::Queued,
                None,
                vec!["a", "b"],
                serde_json::json!({"k": 1, "x": [1, 2]}),
            ),
            (
                2,
                JobState::Running,
                Some(JobState::Queued),
                vec!["b"],
                serde_json::json!({"k": 2}),
            ),
            (
                3,
                JobState::Done,
                Some(JobState::Running),
                vec![],
                serde_json::json!({"x": [2]}),
            ),
        ];
        for (job_id, state, previous, tags, payload) in rows {
            db.insert(&InsertJob {
                job_id,
                state,
                previous,
                tags: tags.into_iter().map(String::from).collect(),
                payload,
            })
            .await
            .unwrap();
        }
        let ids = |query: Select<Job>| {
            let db = &db;
            async move {
                let rows: Vec<(i64,)> = db
                    .fetch_columns(&query.order_by(Job::job_id.asc()).columns((Job::job_id,)))
                    .await
                    .unwrap();
                rows.into_iter().map(|(id,)| id).collect::<Vec<_>>()
            }
        };
        let all = Select::<Job>::new;
        assert_eq!(
            ids(all().filter(Job::state.eq(JobState::Running))).await,
            [2]
        );
        assert_eq!(
            ids(all().filter(Job::state.in_list([JobState::Queued, JobState::Done]))).await,
            [1, 3]
        );
        assert_eq!(
            ids(all().filter(Job::state.gt(JobState::Queued))).await,
            [2, 3]
        );
        assert_eq!(
            ids(all().filter(Job::previous.eq(JobState::Queued))).await,
            [2]
        );
        assert_eq!(
            ids(all().filter(Job::previous.is_distinct_from(JobState::Queued))).await,
            [1, 3]
        );
        assert_eq!(
            ids(all().filter(Job::tags.contains(vec!["b".to_string()]))).await,
            [1, 2]
        );
        assert_eq!(
            ids(all().filter(Job::tags.overlaps(vec!["a".to_string(), "z".to_string()]))).await,
            [1]
        );
        assert_eq!(
            ids(all().filter(Job::payload.contains(serde_json::json!({"x": [2]})))).await,
            [1, 3]
        );

        // sqlx binds the native type too, alone and as an array.
        let pool = sqlx::PgPool::connect(test.url()).await.unwrap();
        let query = all()
            .filter(Job::state.in_list([JobState::Queued, JobState::Running]))
            .filter(Job::previous.ne(JobState::Running))
            .columns((Job::job_id, Job::state));
        let rows: Vec<(i64, JobState)> = schema_core::sqlx::fetch_columns(&pool, &query)
            .await
            .unwrap();
        assert_eq!(rows, [(2, JobState::Running)]);
    });
}

/// The same queries through sqlx: on a pool, and on a physician's scoped transaction.
#[test]
fn sqlx_runs_the_same_queries_on_a_pool_and_under_a_scope() {
    use schema_core::sqlx::{self as sx, RequestScope, SqlxError};

    let mut test = TestDb::with_schema();
    let (providers, _) = test.add_providers_with_tickets(2, 0);
    let (a, b) = (providers[0], providers[1]);
    let physician = test
        .names()
        .role_name(shared::schemas::PHYSICIAN_ROLE)
        .to_string();
    let setting = test
        .names()
        .setting_name(shared::schemas::PROVIDER_SETTING)
        .to_string();
    let url = test.login_role("doctor", &physician);
    run(async {
        let owner = Db::connect(test.url()).await.unwrap();
        tickets(&owner, a, b).await;
        let pool = sqlx::PgPool::connect(test.url()).await.unwrap();

        let open = Select::<SupportTicket>::new()
            .filter(SupportTicket::status.in_list([TicketStatus::Open, TicketStatus::Closed]))
            .order_by(SupportTicket::subject.asc());
        assert_eq!(
            subjects(&sx::fetch_all(&pool, &open).await.unwrap()),
            ["a open urgent", "b closed", "b open"]
        );
        assert_eq!(sx::count(&pool, &open).await.unwrap(), 3);
        assert!(sx::exists(&pool, &open).await.unwrap());
        let first = sx::fetch_optional(&pool, &open).await.unwrap().unwrap();
        assert_eq!(first.subject, "a open urgent");
        let sql = open.to_sql().unwrap();
        let streamed: Vec<SelectSupportTicket> = sx::fetch_stream::<_, SupportTicket>(&pool, &sql)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(subjects(&streamed), ["a open urgent", "b closed", "b open"]);
        let rated: Vec<(String, Option<i32>)> = sx::fetch_columns(
            &pool,
            &Select::<SupportTicket>::new()
                .filter(SupportTicket::satisfaction_rating.is_not_null())
                .order_by(SupportTicket::satisfaction_rating.desc())
                .columns((SupportTicket::subject, SupportTicket::satisfaction_rating)),
        )
        .await
        .unwrap();
        assert_eq!(
            rated,
            [
                ("a 50% off_label".to_string(), Some(5)),
                ("b open".to_string(), Some(4)),
                ("a resolved".to_string(), Some(2)),
            ]
        );

        // Keyset pages put together equal the whole order.
        let order = Select::<SupportTicket>::new()
            .order_by(SupportTicket::priority.desc())
            .order_by(SupportTicket::created_at.asc());
        let whole = sx::fetch_all(&pool, &order).await.unwrap();
        let mut pages = Vec::new();
        let mut query = order.clone().limit(2);
        loop {
            let page = sx::fetch_all(&pool, &query).await.unwrap();
            let Some(last) = page.last() else { break };
            query = order.clone().limit(2).after(last);
            pages.extend(page);
        }
        assert_eq!(pages, whole);

        let error = sx::delete_where(&pool, &Delete::<SupportTicket>::new())
            .await
            .unwrap_err();
        assert!(
            matches!(error, SqlxError::Query(QueryError::Unfiltered { .. })),
            "{error}"
        );

        // A physician's scope: no read or write reaches B's tickets.
        let doctor = sqlx::PgPool::connect(&url).await.unwrap();
        let provider = a.to_string();
        let scope = RequestScope {
            role: &physician,
            setting: &setting,
            value: &provider,
        };
        let mut tx = sx::scoped_transaction(&doctor, scope).await.unwrap();
        let seen = sx::fetch_all(&mut *tx, &Select::<SupportTicket>::new())
            .await
            .unwrap();
        assert_eq!(seen.len(), 3);
        assert!(seen.iter().all(|t| t.provider_id == a));
        let of_b = Select::<SupportTicket>::new().filter(SupportTicket::provider_id.eq(b));
        assert_eq!(sx::count(&mut *tx, &of_b).await.unwrap(), 0);
        let patch = UpdateSupportTicket {
            subject: Some("edited".into()),
            ..Default::default()
        };
        let changed = sx::update_where(
            &mut *tx,
            &Update::new(&patch).filter(SupportTicket::status.eq(TicketStatus::Open)),
        )
        .await
        .unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].provider_id, a);
        let deleted = sx::delete_where(
            &mut *tx,
            &Delete::new().filter(SupportTicket::provider_id.eq(b)),
        )
        .await
        .unwrap();
        assert!(deleted.is_empty());
        tx.commit().await.unwrap();
        assert_eq!(
            subjects(&owner.fetch_all(&of_b).await.unwrap()),
            ["b closed", "b open"]
        );
    });
}
