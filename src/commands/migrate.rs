//! `derbes migrate`: install or upgrade the derbes schema.

use crate::cli::MigrateArgs;
use crate::commands::Context;
use crate::output::{emit, Tabular};
use crate::pg::migrate::{self, MigrateReport};

pub async fn run(ctx: &Context, args: MigrateArgs) -> anyhow::Result<()> {
    let (mut client, _) = ctx.connect().await?;
    let report = migrate::apply(&mut client, args.dry_run).await?;
    emit(ctx.format(), &report)
}

impl Tabular for MigrateReport {
    fn headers(&self) -> Vec<&'static str> {
        vec!["migration"]
    }
    fn rows(&self) -> Vec<Vec<String>> {
        self.applied.iter().map(|m| vec![m.clone()]).collect()
    }
    fn notes(&self) -> Vec<String> {
        let verb = if self.dry_run { "would move" } else { "moved" };
        vec![if self.applied.is_empty() {
            format!("derbes schema is up to date (version {})", self.to_version)
        } else {
            format!(
                "derbes schema {verb} from version {} to {}",
                self.from_version, self.to_version
            )
        }]
    }
}
