//! A followed page region's stream: the version the region would render now, at once and then
//! each change, read once per poll (the order page, the admin's live sale views). The page
//! fetches itself again when the version differs from the one it shows (`app::live::swap`).

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// `first` (read as the stream opened, so a missing subject was a 404, not an empty stream),
/// then `read()` every `poll`, sent only when it differs from the last one sent. `read` gives
/// `Ok(None)` when the subject is gone (the stream ends) and `Err` when this read failed (logged
/// with `what`, tried again at the next poll). The stream also ends after a version `settled`
/// calls final, and when `stopped` is cancelled (shutdown).
pub fn version_events<F, Fut>(
    what: String,
    first: String,
    poll: Duration,
    settled: fn(&str) -> bool,
    stopped: CancellationToken,
    read: F,
) -> Response
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<Option<String>, String>> + Send,
{
    // The first read is the one just made: the next is one poll from now (a plain `interval`
    // would tick at once and read twice as the stream opens).
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + poll, poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let start = Follow { read, next: Some(first), last: None, tick, what };
    let versions = futures::stream::unfold(start, move |mut f| async move {
        if f.last.as_deref().is_some_and(settled) {
            return None;
        }
        loop {
            let version = match f.next.take() {
                Some(version) => version,
                None => {
                    f.tick.tick().await;
                    match (f.read)().await {
                        Ok(Some(version)) => version,
                        Ok(None) => return None,
                        Err(e) => {
                            tracing::warn!(what = %f.what, error = %e, "live: reading failed; trying again");
                            continue;
                        }
                    }
                }
            };
            if f.last.as_ref() != Some(&version) {
                f.last = Some(version.clone());
                return Some((version, f));
            }
        }
    });
    let events = versions
        .map(|version| Ok::<_, Infallible>(Event::default().data(version)))
        .take_until(stopped.cancelled_owned());
    Sse::new(events).keep_alive(KeepAlive::default()).into_response()
}

struct Follow<F> {
    read: F,
    next: Option<String>,
    last: Option<String>,
    tick: tokio::time::Interval,
    /// What is followed, for the log.
    what: String,
}
