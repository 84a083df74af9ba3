//! Building blocks for statements that write many rows at once: the engine and the delivery
//! worker gather a batch's rows and send them in a few multi-row statements instead of one
//! statement per row, which is where their throughput comes from.

use sqlx::{Any, Transaction};

/// Rows per multi-row statement: small enough for every backend's parameter limit.
pub(super) const ROWS_PER_STATEMENT: usize = 100;
/// Ids per `IN (...)` list.
pub(super) const IN_LIST_CHUNK: usize = 500;

/// `$first, $first+1, …` for `count` parameters.
pub(super) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A bound value of a multi-row statement.
#[derive(Debug, Clone, Copy)]
pub(super) enum Param<'a> {
    Int(i64),
    OptInt(Option<i64>),
    Text(&'a str),
    OptText(Option<&'a str>),
}

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
    transaction: &mut Transaction<'static, Any>,
    table_and_columns: &str,
    rows: impl Iterator<Item = [Param<'a>; N]>,
) -> sqlx::Result<()> {
    let rows: Vec<[Param<'a>; N]> = rows.collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|row| format!("({})", placeholders(1 + row * N, N)))
            .collect();
        let sql = format!(
            "INSERT INTO {table_and_columns} VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for row in chunk {
            for param in row {
                query = param.bind(query);
            }
        }
        query.execute(&mut **transaction).await?;
    }
    Ok(())
}
