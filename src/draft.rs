//! `map init`: a first draft of a data map, read off the catalogue.
//!
//! The subject table is the one most foreign keys point at (or the one named);
//! tables referencing it link directly, tables referencing those link `via` them.
//! Column categories are guessed from names and types and marked for review.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::catalog::{guess_category, looks_personal, Catalog};
use crate::datamap::TableName;

/// Draft map text for the tables of `schema`.
pub fn draft_map(
    catalog: &Catalog,
    schema: &str,
    subject_table: Option<&str>,
) -> Result<String, String> {
    let in_schema: BTreeSet<&TableName> = catalog
        .tables
        .keys()
        .filter(|t| t.schema == schema)
        .collect();
    if in_schema.is_empty() {
        return Err(format!(
            "schema \"{schema}\" has no tables: pass --schema with the schema that holds the application's tables"
        ));
    }
    let subject = match subject_table {
        Some(name) => in_schema
            .iter()
            .find(|t| t.table == name)
            .copied()
            .ok_or_else(|| format!("table \"{schema}.{name}\" does not exist"))?,
        None => {
            let mut inbound: BTreeMap<&TableName, usize> = BTreeMap::new();
            for fk in &catalog.foreign_keys {
                if in_schema.contains(&fk.parent) && fk.parent != fk.child {
                    *inbound.entry(&fk.parent).or_default() += 1;
                }
            }
            inbound
                .into_iter()
                .max_by_key(|(t, n)| (*n, std::cmp::Reverse(t.table.clone())))
                .map(|(t, _)| t)
                .ok_or_else(|| {
                    "no foreign keys to guess the subject table from: pass --subject-table"
                        .to_owned()
                })?
        }
    };
    let subject_info = &catalog.tables[subject];
    let key = match subject_info.primary_key.as_slice() {
        [key] => key.clone(),
        _ => {
            return Err(format!(
                "{subject} needs a single-column primary key to be the subject table"
            ))
        }
    };

    // Breadth-first from the subject along foreign keys: each table links to the
    // first already-linked table it references.
    let mut links: BTreeMap<&TableName, (String, Option<&TableName>)> = BTreeMap::new();
    let mut frontier = vec![subject];
    let mut reached: BTreeSet<&TableName> = [subject].into();
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for parent in frontier {
            for fk in catalog.foreign_keys.iter().filter(|fk| {
                &fk.parent == parent && fk.columns.len() == 1 && in_schema.contains(&fk.child)
            }) {
                if reached.insert(&fk.child) {
                    let via = (parent != subject).then_some(parent);
                    links.insert(&fk.child, (fk.columns[0].clone(), via));
                    next.push(&fk.child);
                }
            }
        }
        frontier = next;
    }

    let mut out = String::new();
    let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let _ = writeln!(
        out,
        "# Draft data map for schema \"{schema}\", read off the catalogue by `derbes map init`.\n\
         # Review every line: categories are guesses (marked \"review\"), purposes are placeholders.\n\
         # Then run `derbes map check`.\n"
    );
    let _ = writeln!(out, "version = 1\nschema = {}\n", q(schema));
    let _ = writeln!(
        out,
        "[subject]\ntable = {}\nkey = {}",
        q(&subject.table),
        q(&key)
    );
    for (column, ty) in &subject_info.columns {
        let kind = match guess_category(column, ty) {
            Some(crate::datamap::Category::Iin) => "iin",
            Some(crate::datamap::Category::Bin) => "bin",
            Some(crate::datamap::Category::Phone) => "phone",
            Some(crate::datamap::Category::Email) => "email",
            _ => continue,
        };
        let _ = writeln!(
            out,
            "\n[[subject.identities]]\nkind = {}\ncolumn = {}{}",
            q(kind),
            q(column),
            if kind == "email" {
                "\ncase_insensitive = true"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        out,
        "\n[purposes]\nreview = {{ description = \"describe the purpose (policy section 4)\", legal_basis = \"state the legal basis\" }}"
    );

    let mut tables: Vec<&TableName> = vec![subject];
    tables.extend(links.keys().copied());
    for name in &in_schema {
        if !tables.contains(name) {
            let info = &catalog.tables[*name];
            if info.columns.iter().any(|(c, _)| looks_personal(c)) {
                tables.push(name);
            }
        }
    }
    for name in tables {
        let info = &catalog.tables[name];
        let _ = writeln!(out, "\n[tables.{}]", q(&name.table));
        match links.get(name) {
            Some((column, None)) => {
                let _ = writeln!(out, "link = {{ column = {} }}", q(column));
            }
            Some((column, Some(via))) => {
                let _ = writeln!(
                    out,
                    "link = {{ column = {}, via = {} }}",
                    q(column),
                    q(&via.table)
                );
            }
            None if name != subject => {
                let _ = writeln!(
                    out,
                    "# no foreign-key path to {}: add `link = {{ column = ..., via = ... }}`",
                    subject.table
                );
            }
            None => {}
        }
        if let Some((time, _)) = info.columns.iter().find(|(c, ty)| {
            ty.starts_with("timestamp") && (c.ends_with("_at") || c.contains("time"))
        }) {
            let _ = writeln!(out, "time_column = {}", q(time));
        }
        let _ = writeln!(out, "[tables.{}.columns]", q(&name.table));
        for (column, ty) in &info.columns {
            if let Some(category) = guess_category(column, ty) {
                let _ = writeln!(
                    out,
                    "{} = {{ category = {}, purpose = \"review\", masking = \"null\" }}",
                    q(column),
                    q(&category.name())
                );
            } else if looks_personal(column) {
                let _ = writeln!(
                    out,
                    "# {} ({ty}) looks personal: give it a category or leave it out",
                    column
                );
            }
        }
    }
    Ok(out)
}
