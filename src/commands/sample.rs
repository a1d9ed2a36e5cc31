//! `derbes sample init`: the reference schema and a synthetic population.

use crate::cli::{SampleCommand, SampleInitArgs};
use crate::commands::Context;

pub async fn run(_ctx: &Context, command: SampleCommand) -> anyhow::Result<()> {
    match command {
        SampleCommand::Init(SampleInitArgs { .. }) => anyhow::bail!("not yet available"),
    }
}
