//! The demo data set.
pub fn seed(_conn: &mut diesel::PgConnection) -> anyhow::Result<String> {
    Ok(String::new())
}
