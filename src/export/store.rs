//! The `report_exports` rows: created queued, marked running, given their
//! progress, and finished with the file or a reason for failing; read back
//! only by whoever may see them.

use chrono::{DateTime, Utc};
use diesel::{
    dsl::{AsExprOf, IntervalDsl, now},
    pg::Pg,
    prelude::*,
    sql_types::{Bool, Timestamptz},
};

use crate::{db::schema::report_exports, domain::text_enum::text_enum};

use super::{ExportId, ExportSpec, Requester};

/// An unfinished export whose runner has not renewed it for this long was
/// interrupted (a crash, a restart). Runners renew every 30 seconds (see
/// `jobs`).
const STALE_AFTER_SECONDS: i32 = 120;
/// Finished exports, their files included, are deleted after this many days.
const KEEP_DAYS: i32 = 7;

text_enum! {
    pub enum Status {
        Queued => "queued",
        Running => "running",
        Done => "done",
        Failed => "failed",
    }
}

impl Status {
    /// Still queued or running: its page refreshes itself.
    pub fn is_unfinished(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }
}

/// Why an export failed. The cause itself is logged; a person reads this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The server stopped while it was queued or running.
    Interrupted,
    /// The file was larger than [`super::MAX_BYTES`].
    TooLarge,
    /// The build returned an error or panicked.
    BuildFailed,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interrupted => "interrupted",
            Self::TooLarge => "too_large",
            Self::BuildFailed => "build_failed",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "interrupted" => Self::Interrupted,
            "too_large" => Self::TooLarge,
            _ => Self::BuildFailed,
        }
    }
}

/// An export as its pages show it (without the file).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = report_exports, check_for_backend(Pg))]
struct ExportRow {
    id: i64,
    kind: String,
    title: String,
    filename: String,
    params: serde_json::Value,
    status: Status,
    rows_done: i64,
    rows_total: Option<i64>,
    error: Option<String>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Export {
    pub id: ExportId,
    pub kind: String,
    pub title: String,
    pub filename: String,
    pub params: serde_json::Value,
    pub status: Status,
    pub rows_done: i64,
    /// None until the build knows it.
    pub rows_total: Option<i64>,
    /// Set when (and only when) it failed.
    pub failure: Option<Failure>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Export {
    /// Rows done out of the total, 0 to 100; None while the total is unknown.
    pub fn percent(&self) -> Option<i64> {
        let total = self.rows_total?;
        Some(if total == 0 {
            100
        } else {
            (self.rows_done.min(total) * 100) / total
        })
    }
}

impl From<ExportRow> for Export {
    fn from(row: ExportRow) -> Self {
        Self {
            id: ExportId(row.id),
            kind: row.kind,
            title: row.title,
            filename: row.filename,
            params: row.params,
            status: row.status,
            rows_done: row.rows_done,
            rows_total: row.rows_total,
            failure: row.error.as_deref().map(Failure::parse),
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
        }
    }
}

/// A finished export's file.
#[derive(Debug, Clone)]
pub struct Download {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The database's clock, not this process's: processes on several machines
/// compare times written by each other.
fn database_now() -> AsExprOf<now, Timestamptz> {
    now.into_sql::<Timestamptz>()
}

type Visible = Box<dyn BoxableExpression<report_exports::table, Pg, SqlType = Bool>>;

/// The exports `requester` may see: their own as an operator; as a merchant
/// user, all of their merchant's if they read its reports, else only their own
/// that are not reports.
fn visible_to(requester: Requester) -> Visible {
    match requester {
        Requester::Operator(id) => Box::new(
            report_exports::requester_kind
                .eq("operator")
                .and(report_exports::requester_id.eq(id)),
        ),
        Requester::MerchantUser {
            merchant_id,
            reads_reports: true,
            ..
        } => Box::new(
            report_exports::requester_kind
                .eq("merchant_user")
                .and(report_exports::merchant_id.is_not_distinct_from(merchant_id)),
        ),
        Requester::MerchantUser {
            merchant_id,
            user_id,
            reads_reports: false,
        } => Box::new(
            report_exports::requester_kind
                .eq("merchant_user")
                .and(report_exports::merchant_id.is_not_distinct_from(merchant_id))
                .and(report_exports::requester_id.eq(user_id))
                .and(report_exports::kind.not_like(format!("{}%", super::REPORT_KIND_PREFIX))),
        ),
    }
}

/// Creates the export, queued, run by `runner`.
pub(super) fn insert(
    conn: &mut PgConnection,
    spec: &ExportSpec,
    runner: &str,
) -> QueryResult<ExportId> {
    let (kind, requester_id, merchant_id) = match spec.requester {
        Requester::Operator(id) => ("operator", id, None),
        Requester::MerchantUser {
            merchant_id,
            user_id,
            ..
        } => ("merchant_user", user_id, Some(merchant_id)),
    };
    diesel::insert_into(report_exports::table)
        .values((
            report_exports::requester_kind.eq(kind),
            report_exports::requester_id.eq(requester_id),
            report_exports::merchant_id.eq(merchant_id),
            report_exports::kind.eq(&spec.kind),
            report_exports::title.eq(&spec.title),
            report_exports::filename.eq(&spec.filename),
            report_exports::content_type.eq(&spec.content_type),
            report_exports::params.eq(&spec.params),
            report_exports::runner.eq(runner),
        ))
        .returning(report_exports::id)
        .get_result(conn)
        .map(ExportId)
}

/// Newest first, at most `limit`.
pub fn list(conn: &mut PgConnection, requester: Requester, limit: i64) -> QueryResult<Vec<Export>> {
    report_exports::table
        .filter(visible_to(requester))
        .select(ExportRow::as_select())
        .order(report_exports::id.desc())
        .limit(limit)
        .load::<ExportRow>(conn)
        .map(|rows| rows.into_iter().map(Export::from).collect())
}

/// One export, if `requester` may see it.
pub fn find(
    conn: &mut PgConnection,
    requester: Requester,
    id: ExportId,
) -> QueryResult<Option<Export>> {
    report_exports::table
        .filter(report_exports::id.eq(id.0))
        .filter(visible_to(requester))
        .select(ExportRow::as_select())
        .first::<ExportRow>(conn)
        .optional()
        .map(|row| row.map(Export::from))
}

/// A finished export's file, if `requester` may see it and it is done.
#[tracing::instrument(skip_all, fields(id = %id))]
pub fn open(
    conn: &mut PgConnection,
    requester: Requester,
    id: ExportId,
) -> QueryResult<Option<Download>> {
    let found: Option<(String, String, Option<Vec<u8>>)> = report_exports::table
        .filter(report_exports::id.eq(id.0))
        .filter(visible_to(requester))
        .select((
            report_exports::filename,
            report_exports::content_type,
            report_exports::bytes,
        ))
        .first(conn)
        .optional()?;
    Ok(found.and_then(|(filename, content_type, bytes)| {
        bytes.map(|bytes| Download {
            filename,
            content_type,
            bytes,
        })
    }))
}

/// Queued → running; false when it is no longer queued (failed meanwhile as
/// interrupted), and then it must not run.
pub(super) fn mark_running(conn: &mut PgConnection, id: ExportId) -> QueryResult<bool> {
    diesel::update(
        report_exports::table
            .filter(report_exports::id.eq(id.0))
            .filter(report_exports::status.eq(Status::Queued)),
    )
    .set((
        report_exports::status.eq(Status::Running),
        report_exports::started_at.eq(now),
        report_exports::heartbeat_at.eq(now),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Records how far a running build has got.
pub(super) fn set_progress(
    conn: &mut PgConnection,
    id: ExportId,
    done: i64,
    total: i64,
) -> QueryResult<()> {
    diesel::update(
        report_exports::table
            .filter(report_exports::id.eq(id.0))
            .filter(report_exports::status.eq(Status::Running)),
    )
    .set((
        report_exports::rows_done.eq(done),
        report_exports::rows_total.eq(total),
    ))
    .execute(conn)
    .map(drop)
}

/// Running → done, with the file and the final counts.
pub(super) fn finish(
    conn: &mut PgConnection,
    id: ExportId,
    bytes: &[u8],
    counts: Option<(i64, i64)>,
) -> QueryResult<()> {
    let target = report_exports::table
        .filter(report_exports::id.eq(id.0))
        .filter(report_exports::status.eq(Status::Running));
    conn.transaction(|conn| {
        if let Some((done, total)) = counts {
            set_progress(conn, id, done, total)?;
        }
        diesel::update(target)
            .set((
                report_exports::status.eq(Status::Done),
                report_exports::bytes.eq(bytes),
                report_exports::finished_at.eq(now),
            ))
            .execute(conn)
            .map(drop)
    })
}

/// Queued or running → failed.
pub(super) fn fail(conn: &mut PgConnection, id: ExportId, failure: Failure) -> QueryResult<()> {
    diesel::update(
        report_exports::table
            .filter(report_exports::id.eq(id.0))
            .filter(report_exports::status.eq_any([Status::Queued, Status::Running])),
    )
    .set((
        report_exports::status.eq(Status::Failed),
        report_exports::error.eq(failure.as_str()),
        report_exports::finished_at.eq(now),
    ))
    .execute(conn)
    .map(drop)
}

/// Says that these exports' runner is alive and still has them in hand.
pub(super) fn heartbeat(conn: &mut PgConnection, ids: &[ExportId]) -> QueryResult<usize> {
    diesel::update(
        report_exports::table
            .filter(report_exports::id.eq_any(ids.iter().map(|id| id.0)))
            .filter(report_exports::status.eq_any([Status::Queued, Status::Running])),
    )
    .set(report_exports::heartbeat_at.eq(now))
    .execute(conn)
}

/// Fails, as interrupted, the unfinished exports whose runner has stopped
/// saying it is alive; the ones of runners that are alive, in this process or
/// another, are left alone. Returns how many it failed.
#[tracing::instrument(skip_all)]
pub fn fail_interrupted(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::update(
        report_exports::table
            .filter(report_exports::status.eq_any([Status::Queued, Status::Running]))
            .filter(
                report_exports::heartbeat_at.lt(database_now() - STALE_AFTER_SECONDS.seconds()),
            ),
    )
    .set((
        report_exports::status.eq(Status::Failed),
        report_exports::error.eq(Failure::Interrupted.as_str()),
        report_exports::finished_at.eq(now),
    ))
    .execute(conn)
}

/// Deletes exports (and their files) that finished more than a week ago.
#[tracing::instrument(skip_all)]
pub fn purge_finished(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::delete(
        report_exports::table
            .filter(report_exports::finished_at.lt((database_now() - KEEP_DAYS.days()).nullable())),
    )
    .execute(conn)
}
