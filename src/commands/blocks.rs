//! `derbes block list` (or its older spelling `blocks`): the block history, or only
//! the blocks in force.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::cli::BlockListArgs;
use crate::commands::Context;
use crate::ops::block::{self, BlockRecord, BlocksFilter};
use crate::ops::resolve;
use crate::output::{emit, Tabular};
use crate::pg::catalog::Catalog;
use crate::pg::migrate::ensure_current;
use crate::when::parse_since;

#[derive(Serialize)]
struct Blocks {
    blocks: Vec<BlockView>,
}

/// A block, with the subject's masked IIN when the data map is at hand: on-call
/// looked the person up by an identity, not by `borrowers:11`.
#[derive(Serialize)]
struct BlockView {
    #[serde(flatten)]
    record: BlockRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    masked_iin: Option<String>,
}

pub async fn run(ctx: &Context, args: BlockListArgs) -> anyhow::Result<()> {
    // The map is read only for its time zone, and only when --since needs it.
    let since = match args.since.as_deref() {
        Some(text) => Some(parse_since(text, ctx.time_zone()?)?),
        None => None,
    };
    let (client, _) = ctx.connect_read().await?;
    ensure_current(&client).await?;
    let filter = BlocksFilter {
        active_only: args.active,
        since,
        limit: args.limit.max(1),
    };
    let records = block::list(&client, &filter).await?;
    let masked = masked_iins(ctx, &client, &records).await?;
    let blocks = records
        .into_iter()
        .map(|record| BlockView {
            masked_iin: masked.get(&record.subject_key).cloned(),
            record,
        })
        .collect();
    emit(ctx.format(), &Blocks { blocks })
}

/// The masked IIN of each blocked subject of the data map's subject table, by key,
/// through the resolver's own description of candidates; nothing without a map.
async fn masked_iins(
    ctx: &Context,
    client: &tokio_postgres::Client,
    records: &[BlockRecord],
) -> anyhow::Result<BTreeMap<String, String>> {
    if ctx.global.map.is_none() || records.is_empty() {
        return Ok(BTreeMap::new());
    }
    let map = ctx.map()?;
    let subject_table = map.subject_table().to_string();
    let keys: BTreeSet<String> = records
        .iter()
        .filter(|r| r.subject_table == subject_table)
        .map(|r| r.subject_key.clone())
        .collect();
    let catalog = Catalog::read(client).await?;
    Ok(resolve::describe(client, &map, &catalog, &keys)
        .await?
        .into_iter()
        .filter_map(|c| Some((c.key, c.masked_iin?)))
        .collect())
}

fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

impl Tabular for Blocks {
    fn headers(&self) -> Vec<&'static str> {
        vec![
            "subject",
            "reason",
            "ticket",
            "blocked by",
            "blocked at",
            "unblocked at",
            "application",
        ]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        self.blocks
            .iter()
            .map(|v| {
                let b = &v.record;
                let table = b
                    .subject_table
                    .rsplit('.')
                    .next()
                    .unwrap_or(&b.subject_table);
                let subject = match &v.masked_iin {
                    Some(iin) => format!("{table}:{} ({iin})", b.subject_key),
                    None => format!("{table}:{}", b.subject_key),
                };
                vec![
                    subject,
                    b.reason.clone(),
                    b.ticket.clone(),
                    b.blocked_by.clone(),
                    when(&b.blocked_at),
                    b.unblocked_at.as_ref().map(when).unwrap_or_default(),
                    b.application_ref.clone().unwrap_or_default(),
                ]
            })
            .collect()
    }
    fn notes(&self) -> Vec<String> {
        if self.blocks.is_empty() {
            vec!["no blocks match".to_owned()]
        } else {
            Vec::new()
        }
    }
}
