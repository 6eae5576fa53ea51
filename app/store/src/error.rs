use thiserror::Error;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What can go wrong in the data layer. Messages are for logs, never for shoppers.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("unsupported database URL: expected sqlite:… or postgres://…")]
    UnsupportedUrl,
    #[error("cannot create {0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored value out of range in {0}")]
    Corrupt(&'static str),
}

impl StoreError {
    /// The name of the unique constraint or index a write violated, when that is what failed.
    /// PostgreSQL reports the name; SQLite names the index (`index 'x'`) or the columns
    /// (`users.email`), which are mapped to the same constraint names as PostgreSQL's.
    pub fn unique_violation(&self) -> Option<String> {
        let StoreError::Database(sqlx::Error::Database(db)) = self else { return None };
        if !db.is_unique_violation() {
            return None;
        }
        if let Some(name) = db.constraint() {
            return Some(name.to_string());
        }
        let msg = db.message();
        if let Some(start) = msg.find("index '") {
            let rest = &msg[start + 7..];
            return rest.split('\'').next().map(str::to_string);
        }
        let cols = msg.rsplit("UNIQUE constraint failed: ").next()?;
        Some(match cols.trim() {
            "users.email" => "users_email_key".to_string(),
            "orders.user_id, orders.idempotency_key" => "orders_idempotency_key".to_string(),
            other => other.to_string(),
        })
    }
}
