//! Writing an archive: `COPY (SELECT ...) TO STDOUT (FORMAT csv, HEADER)` per table
//! into the one tar writer ([`crate::files::tar_writer`]), cut at row boundaries into
//! parts. The server sends one COPY data message per row, so a part always ends at
//! a row boundary.

use futures_util::{pin_mut, StreamExt};
use tokio_postgres::{CopyOutStream, Transaction};

use super::manifest::{MemberEntry, TableEntry};
use super::select::PlannedTable;
use crate::files::tar_writer::{MemberSink, Parts, TarWriter};

/// The header line of a CSV with these columns, as COPY writes it.
fn csv_header(table: &PlannedTable) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let _ = writer.write_record(table.columns.iter().map(|c| c.name.as_str()));
    writer.into_inner().unwrap_or_default()
}

/// Dump one table into the writer, part by part; returns its manifest entry.
pub(crate) async fn dump_table(
    tx: &Transaction<'_>,
    table: &PlannedTable,
    writer: &mut TarWriter,
    part_bytes: usize,
    on_progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> anyhow::Result<TableEntry> {
    let base = format!("{}.{}", table.name.schema, table.name.table);
    let sql = format!("COPY ({}) TO STDOUT (FORMAT csv, HEADER)", table.select);
    let stream = tx.copy_out(sql.as_str()).await.map_err(|e| {
        anyhow::anyhow!(
            "dumping {} failed: {}",
            table.name,
            crate::pg::db::describe(&e)
        )
    })?;
    let (members, rows) = drain(stream, table, base, writer, part_bytes, on_progress).await?;
    Ok(TableEntry {
        table: table.name.to_string(),
        columns: table.columns.clone(),
        rows,
        members,
    })
}

/// Cut one COPY's CSV into parts named after `base` and send them to `writer`;
/// returns the members in order and the rows.
pub(crate) async fn drain(
    stream: CopyOutStream,
    table: &PlannedTable,
    base: String,
    writer: &mut impl MemberSink,
    part_bytes: usize,
    on_progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> anyhow::Result<(Vec<MemberEntry>, u64)> {
    pin_mut!(stream);
    let mut parts: Option<Parts> = None;
    while let Some(message) = stream.next().await {
        let row = message.map_err(|e| {
            anyhow::anyhow!(
                "dumping {} failed: {}; nothing was archived",
                table.name,
                crate::pg::db::describe(&e)
            )
        })?;
        match &mut parts {
            // COPY's first message is its header line.
            None => parts = Some(Parts::new(base.clone(), row.to_vec(), part_bytes)),
            Some(parts) => {
                let (bytes, rows) = parts.push(&row, writer).await?;
                if rows > 0 {
                    on_progress(bytes, rows);
                }
            }
        }
    }
    let parts = parts.unwrap_or_else(|| Parts::new(base, csv_header(table), part_bytes));
    let (members, rows, (bytes, last_rows)) = parts.finish(writer).await?;
    on_progress(bytes, last_rows);
    Ok((members, rows))
}
