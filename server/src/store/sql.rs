//! Building blocks for statements that write many rows at once: the engine and the delivery
//! worker gather a batch's rows and send them in a few multi-row statements instead of one
//! statement per row, which is where their throughput comes from.

use sqlx::{Any, AnyConnection, Row};

use super::Backend;

/// Rows per multi-row statement. Each statement costs a hand-off to the database's thread
/// (SQLite) or a round trip (PostgreSQL) besides its work, so a round's rows go in as few as
/// the parameter limits allow: 500 rows of the widest row written (a dozen columns) stay far
/// below SQLite's 32,766 and PostgreSQL's 65,535 parameters. Measured with the engine bench,
/// alternating builds: 100 rows per statement gave 74–92k contact-steps/s (median 80k), 500
/// gave 88–103k (median 92k).
pub(super) const ROWS_PER_STATEMENT: usize = 500;

/// SQLite's limit on a statement's parameters (PostgreSQL's is 65,535).
const MAX_PARAMETERS: usize = 32_766;
/// Ids per `IN (...)` list.
pub(super) const IN_LIST_CHUNK: usize = 500;

/// Numbers a statement's parameters in the order they appear in its text: `$1, $2, …` on
/// PostgreSQL, anonymous `?` on SQLite. Binds must follow the same order.
///
/// SQLite gets `?` because sqlx looks up the name of every named parameter it binds, and
/// SQLite finds a name by a linear search: binding the 800 `$n` of one multi-row statement
/// made that lookup the delivery worker's largest single cost (15 % of its CPU).
pub(super) struct Params {
    backend: Backend,
    next: usize,
}

impl Params {
    pub(super) fn new(backend: Backend) -> Self {
        Self { backend, next: 1 }
    }

    /// The next parameter.
    pub(super) fn one(&mut self) -> String {
        let number = self.next;
        self.next += 1;
        match self.backend {
            Backend::Sqlite => "?".to_owned(),
            Backend::Postgres => format!("${number}"),
        }
    }

    /// The next `count` parameters, comma-separated.
    pub(super) fn list(&mut self, count: usize) -> String {
        (0..count)
            .map(|_| self.one())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `rows` parenthesised tuples of `width` parameters, for a multi-row `VALUES`.
    pub(super) fn rows(&mut self, rows: usize, width: usize) -> String {
        (0..rows)
            .map(|_| format!("({})", self.list(width)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A bound value of a multi-row statement.
#[derive(Debug, Clone, Copy)]
pub(super) enum Param<'a> {
    Int(i64),
    OptInt(Option<i64>),
    Text(&'a str),
    OptText(Option<&'a str>),
}

/// A typed id binds as its number.
macro_rules! id_params {
    ($($id:ty),+) => {$(
        impl From<$id> for Param<'_> {
            fn from(id: $id) -> Self {
                Self::Int(id.get())
            }
        }
    )+};
}

id_params!(
    app::ids::ContactId,
    app::ids::DeliveryId,
    app::ids::EnrollmentId,
    app::ids::EventId,
    app::ids::JourneyId,
    app::ids::MessageId,
    app::ids::TemplateId,
    app::ids::WebhookId
);

pub(super) type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

impl<'a> Param<'a> {
    pub(super) fn bind<'q>(self, query: AnyQuery<'q>) -> AnyQuery<'q>
    where
        'a: 'q,
    {
        match self {
            Self::Int(value) => query.bind(value),
            Self::OptInt(value) => query.bind(value),
            Self::Text(value) => query.bind(value),
            Self::OptText(value) => query.bind(value),
        }
    }
}

/// Inserts the rows into `table_and_columns` with multi-row `VALUES`, a chunk per statement.
pub(super) async fn insert_rows<'a, const N: usize>(
    connection: &mut AnyConnection,
    backend: Backend,
    table_and_columns: &str,
    rows: impl Iterator<Item = [Param<'a>; N]>,
) -> sqlx::Result<()> {
    upsert_rows(connection, backend, table_and_columns, rows, "").await
}

/// [`insert_rows`] with an `ON CONFLICT …` clause (both databases read the same syntax), e.g.
/// to add to counters that exist already. Rows conflicting within one statement are an error
/// on PostgreSQL: give each key once.
pub(super) async fn upsert_rows<'a, const N: usize>(
    connection: &mut AnyConnection,
    backend: Backend,
    table_and_columns: &str,
    rows: impl Iterator<Item = [Param<'a>; N]>,
    on_conflict: &str,
) -> sqlx::Result<()> {
    const { assert!(N * ROWS_PER_STATEMENT <= MAX_PARAMETERS) };
    let rows: Vec<[Param<'a>; N]> = rows.collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = insert_sql(backend, table_and_columns, chunk.len(), N, on_conflict);
        bind_rows(sqlx::query(&sql), chunk)
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

/// [`insert_rows`], returning the new rows' ids in the order of `rows`.
pub(super) async fn insert_rows_returning_ids<'a, Id, const N: usize>(
    connection: &mut AnyConnection,
    backend: Backend,
    table_and_columns: &str,
    rows: impl Iterator<Item = [Param<'a>; N]>,
) -> sqlx::Result<Vec<Id>>
where
    Id: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> + Ord,
{
    const { assert!(N * ROWS_PER_STATEMENT <= MAX_PARAMETERS) };
    let rows: Vec<[Param<'a>; N]> = rows.collect();
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = insert_sql(backend, table_and_columns, chunk.len(), N, "RETURNING id");
        let found = bind_rows(sqlx::query(&sql), chunk)
            .fetch_all(&mut *connection)
            .await?;
        let mut chunk_ids = found
            .iter()
            .map(|row| row.try_get::<Id, _>(0))
            .collect::<sqlx::Result<Vec<Id>>>()?;
        // Neither database promises RETURNING's order, but both number the rows of one INSERT
        // in the order of its VALUES (SQLite under its write lock, PostgreSQL from a sequence
        // that only grows), so ascending ids are the rows' order.
        chunk_ids.sort_unstable();
        ids.extend(chunk_ids);
    }
    Ok(ids)
}

fn insert_sql(
    backend: Backend,
    table_and_columns: &str,
    rows: usize,
    width: usize,
    returning: &str,
) -> String {
    let values = Params::new(backend).rows(rows, width);
    format!("INSERT INTO {table_and_columns} VALUES {values} {returning}")
}

pub(super) fn bind_rows<'q, const N: usize>(
    mut query: AnyQuery<'q>,
    rows: &[[Param<'q>; N]],
) -> AnyQuery<'q> {
    for row in rows {
        for param in row {
            query = param.bind(query);
        }
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_in_the_order_they_appear() {
        let mut postgres = Params::new(Backend::Postgres);
        assert_eq!(postgres.rows(2, 2), "($1, $2), ($3, $4)");
        assert_eq!(postgres.one(), "$5");

        let mut sqlite = Params::new(Backend::Sqlite);
        assert_eq!(sqlite.rows(2, 2), "(?, ?), (?, ?)");
        assert_eq!(sqlite.list(3), "?, ?, ?");
    }
}
