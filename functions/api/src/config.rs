//! What the `api` function needs from the environment, read once at cold start by
//! `main.rs`: the table (reads), the earn queue (writes) and the program (the tier window of
//! the reads), all required. The variables are in [`saguaro_app::config`].

use std::sync::Arc;

use saguaro_app::config::{ConfigError, EARN_QUEUE_URL, Env, TABLE_NAME};
use saguaro_domain::Program;

#[derive(Debug)]
pub struct Config {
    pub table_name: String,
    pub queue_url: String,
    pub program: Arc<Program>,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: env.required(TABLE_NAME)?,
            queue_url: env.required(EARN_QUEUE_URL)?,
            program: Arc::new(env.program()?),
        })
    }
}
