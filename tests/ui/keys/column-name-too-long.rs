use schema_core::PgTable;

// A renamed column whose name PostgreSQL would truncate.
#[derive(PgTable)]
pub struct Reading {
    #[pg(primary_key)]
    pub reading_id: i64,
    #[pg(rename = "the_value_measured_by_the_sensor_at_the_moment_of_the_reading_in_volts")]
    pub volts: f64,
}

fn main() {}
