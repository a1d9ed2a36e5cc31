//! Personal data held per retention rule and table, and rolled up per category:
//! each table counted once, in one pass, by the one retention decision
//! (`ops::retention`: its plan, holds, conditions and [`count_table`]).

use std::collections::{BTreeMap, BTreeSet};

use tokio_postgres::GenericClient;

use super::model::{CategoryFigures, RetentionRuleFigures, RetentionTableFigures};
use crate::map::labels::period_words;
use crate::map::{Category, DataMap, Lang};
use crate::ops::retention::{any_held, count_table, Conditions, CountScope, RulePlan};

/// Count every table of every rule (their session tables already filled in the
/// snapshot by `fill_session_tables`).
pub async fn gather(
    client: &impl GenericClient,
    map: &DataMap,
    rules: &[RulePlan],
    lang: Lang,
) -> anyhow::Result<(Vec<RetentionRuleFigures>, Vec<CategoryFigures>)> {
    let mut figures = Vec::new();
    for rule in rules {
        let any_held = any_held(client, rule).await?;
        let mut tables = Vec::new();
        for table in &rule.tables {
            let conditions = Conditions::of(rule, table);
            let counted = count_table(
                client,
                rule,
                table,
                &conditions,
                any_held,
                true,
                CountScope::Whole,
            )
            .await?;
            tables.push(RetentionTableFigures {
                table: table.mapped.clone(),
                categories: categories_of(map, &table.mapped),
                rows: counted.rows,
                within: counted.rows - counted.past,
                due: counted.due,
                held: counted.held,
                oldest_due: counted.oldest_due,
            });
        }
        figures.push(RetentionRuleFigures {
            rule: rule.name.clone(),
            action: action_name(rule),
            keep: rule.rule.keep.clone(),
            keep_words: period_words(&rule.rule.keep, lang),
            legal_basis: rule.rule.legal_basis_in(lang).to_owned(),
            cutoff: rule.cutoff,
            tables,
        });
    }
    let categories = roll_up(&figures, lang);
    Ok((figures, categories))
}

fn action_name(rule: &RulePlan) -> String {
    serde_json::to_value(rule.rule.action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The categories of a mapped table's columns, snake_case, sorted.
fn categories_of(map: &DataMap, mapped: &str) -> Vec<String> {
    map.tables
        .get(mapped)
        .map(|spec| {
            spec.columns
                .values()
                .map(|c| c.category.name())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        })
        .unwrap_or_default()
}

/// Per category, the sums over the tables that hold it; `held` is a table's rows
/// past the period and kept (each row once, whatever the number of reasons).
fn roll_up(rules: &[RetentionRuleFigures], lang: Lang) -> Vec<CategoryFigures> {
    let mut sums: BTreeMap<String, CategoryFigures> = BTreeMap::new();
    for table in rules.iter().flat_map(|r| &r.tables) {
        let held = table.rows - table.within - table.due;
        for category in &table.categories {
            let entry = sums
                .entry(category.clone())
                .or_insert_with(|| CategoryFigures {
                    category: category.clone(),
                    label: label(category, lang),
                    rows: 0,
                    within: 0,
                    due: 0,
                    held: 0,
                });
            entry.rows += table.rows;
            entry.within += table.within;
            entry.due += table.due;
            entry.held += held;
        }
    }
    sums.into_values().collect()
}

fn label(category: &str, lang: Lang) -> String {
    Category::ALL
        .iter()
        .find(|c| c.name() == category)
        .map_or_else(|| category.to_owned(), |c| c.label(lang).to_owned())
}
