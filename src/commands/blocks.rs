//! `derbes block list` (or its older spelling `blocks`): the block history, or only
//! the blocks in force.

use serde::Serialize;

use crate::cli::BlockListArgs;
use crate::commands::Context;
use crate::ops::block::{self, BlockRecord, BlocksFilter};
use crate::output::{emit, Tabular};
use crate::pg::migrate::ensure_current;
use crate::when::parse_since;

#[derive(Serialize)]
struct Blocks {
    blocks: Vec<BlockRecord>,
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
    let blocks = block::list(&client, &filter).await?;
    emit(ctx.format(), &Blocks { blocks })
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
            .map(|b| {
                let table = b
                    .subject_table
                    .rsplit('.')
                    .next()
                    .unwrap_or(&b.subject_table);
                vec![
                    format!("{table}:{}", b.subject_key),
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
