//! Reading a provider's list pages over HTTP (reqwest), with retries: a 429 waits its
//! `Retry-After` (whole seconds, at most [`MAX_WAIT`]; [`DEFAULT_WAIT`] without one), a 5xx
//! or a connection error backs off 1, 2, 4 … seconds; at most [`ATTEMPTS`] tries a page.
//! Plain `http://` only for now: the workspace's reqwest has no TLS feature yet (see the
//! README, as for the Chargebee delivery client).

use std::time::Duration;

/// Tries per page.
pub const ATTEMPTS: u32 = 8;
/// The longest `Retry-After` honoured as given (a longer one is cut to this).
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// The wait after a 429 without `Retry-After`.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(2);
/// Per-request timeout.
pub const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot configure TLS for the HTTP client")]
    Tls(#[source] saguaro_delivery::http::ClientError),
    #[error("{url}: answered {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url}: no answer after {ATTEMPTS} tries")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}: still rate-limited after {ATTEMPTS} tries")]
    RateLimited { url: String },
    #[error("{url}: the answer is not JSON")]
    NotJson {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// How requests are authenticated.
#[derive(Clone)]
pub enum Auth {
    Bearer(String),
    /// HTTP Basic with this user and an empty password (Chargebee's API key).
    BasicUser(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A client of one API.
#[derive(Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    base: String,
    auth: Auth,
    headers: Vec<(&'static str, String)>,
    pub requests: u64,
    pub rate_limited: u64,
    /// Shortens every wait (tests): the `Retry-After` is still read and counted.
    pub wait_scale: f64,
}

impl Fetcher {
    pub fn new(
        base: &str,
        auth: Auth,
        headers: Vec<(&'static str, String)>,
    ) -> Result<Self, FetchError> {
        // TLS configured (ring, public roots): the shared way to start a reqwest client.
        let client = saguaro_delivery::http::builder()
            .map_err(FetchError::Tls)?
            .timeout(TIMEOUT)
            .build()
            .map_err(FetchError::Client)?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            auth,
            headers,
            requests: 0,
            rate_limited: 0,
            wait_scale: 1.0,
        })
    }

    async fn pause(&self, d: Duration) {
        tokio::time::sleep(d.mul_f64(self.wait_scale)).await;
    }

    /// `GET {base}{path}?{query}` as JSON.
    pub async fn get(
        &mut self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<serde_json::Value, FetchError> {
        let url = format!("{}{path}", self.base);
        let mut backoff = Duration::from_secs(1);
        let mut last_error = None;
        let mut last_status = None;
        for _ in 0..ATTEMPTS {
            let mut req = self.client.get(&url).query(query);
            req = match &self.auth {
                Auth::Bearer(key) => req.bearer_auth(key),
                Auth::BasicUser(user) => req.basic_auth(user, Some("")),
            };
            for (k, v) in &self.headers {
                req = req.header(*k, v);
            }
            self.requests += 1;
            let answer = match req.send().await {
                Ok(a) => a,
                Err(e) => {
                    last_error = Some(e);
                    self.pause(backoff).await;
                    backoff = (backoff * 2).min(MAX_WAIT);
                    continue;
                }
            };
            let status = answer.status().as_u16();
            if status == 429 {
                self.rate_limited += 1;
                let wait = answer
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map_or(DEFAULT_WAIT, |s| Duration::from_secs(s).min(MAX_WAIT));
                self.pause(wait).await;
                continue;
            }
            if status >= 500 {
                last_status = Some(status);
                self.pause(backoff).await;
                backoff = (backoff * 2).min(MAX_WAIT);
                continue;
            }
            if !(200..300).contains(&status) {
                let body = answer.text().await.unwrap_or_default();
                return Err(FetchError::Status {
                    url,
                    status,
                    body: body.chars().take(300).collect(),
                });
            }
            return answer
                .json()
                .await
                .map_err(|source| FetchError::NotJson { url, source });
        }
        Err(match (last_status, last_error) {
            (Some(status), _) => FetchError::Status {
                url,
                status,
                body: format!("after {ATTEMPTS} tries"),
            },
            (None, Some(source)) => FetchError::Unreachable { url, source },
            (None, None) => FetchError::RateLimited { url },
        })
    }
}
