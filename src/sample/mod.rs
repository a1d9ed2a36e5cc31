//! Synthetic population for the reference schema (placeholder: schema only).

pub const REFERENCE_SCHEMA: &str = include_str!("../../sql/reference/schema.sql");

pub struct SampleOptions {
    pub borrowers: u64,
    pub seed: u64,
    pub as_of: chrono::NaiveDate,
    pub log_rows_per_borrower: u32,
}

pub struct SampleReport {
    pub tables: Vec<(String, u64)>,
}

pub async fn load_reference_schema(
    client: &tokio_postgres::Client,
) -> Result<(), tokio_postgres::Error> {
    client.batch_execute(REFERENCE_SCHEMA).await
}

pub async fn generate(
    _client: &tokio_postgres::Client,
    _opts: &SampleOptions,
    _progress: &mut dyn FnMut(&str, u64),
) -> Result<SampleReport, tokio_postgres::Error> {
    Ok(SampleReport { tables: Vec::new() })
}
