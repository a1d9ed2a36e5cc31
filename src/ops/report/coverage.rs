//! How much of the database the map covers: the counts `map check` reports and
//! the columns it warns of as looking personal but not mapped
//! ([`map_check::unmapped_personal`]), with the category each looks like.

use super::model::{CoverageFigures, UnmappedColumn};
use crate::map::DataMap;
use crate::ops::map_check;
use crate::pg::catalog::Catalog;

pub fn gather(map: &DataMap, catalog: &Catalog) -> CoverageFigures {
    let report = map_check::check(map, catalog, Default::default());
    CoverageFigures {
        mapped_tables: report.tables_mapped as i64,
        mapped_columns: report.columns_mapped as i64,
        unmapped: map_check::unmapped_personal(map, catalog)
            .into_iter()
            .map(|u| UnmappedColumn {
                looks_like: map_check::guess_category(&u.column, &u.pg_type).map(|c| c.name()),
                table: u.table.to_string(),
                column: u.column,
            })
            .collect(),
    }
}
