// `sqlx::migrate!` embeds the migration files at compile time, but cargo does not know it reads
// them: without this, adding or editing a migration would leave a stale binary.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
