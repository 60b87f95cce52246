//! Instance-wide settings as name/value rows.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::instance_settings;

pub fn get(conn: &mut DbConnection, name: &str) -> QueryResult<Option<String>> {
    instance_settings::table
        .find(name)
        .select(instance_settings::value)
        .first(conn)
        .optional()
}

/// Sets a value (update, else insert: portable, inside the caller's transaction).
pub fn set(conn: &mut DbConnection, name: &str, value: &str) -> QueryResult<()> {
    let updated = diesel::update(instance_settings::table.find(name))
        .set(instance_settings::value.eq(value))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(instance_settings::table)
            .values((
                instance_settings::name.eq(name),
                instance_settings::value.eq(value),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn delete(conn: &mut DbConnection, name: &str) -> QueryResult<usize> {
    diesel::delete(instance_settings::table.find(name)).execute(conn)
}
