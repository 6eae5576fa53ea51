//! Overload protection for the buy path: at most `SHOP_BUY_CONCURRENCY` purchases are worked
//! on at once and eight times as many may wait (a rush the shop clears within the wait); a purchase that finds the queue full, or cannot start
//! within `SHOP_BUY_QUEUE_MS`, is answered with 503 and `Retry-After` instead of waiting on a
//! timeout (a full queue answers at once, without a timer). It is turned away before anything is
//! read or taken, so a shed buyer has nothing half-done. Browsing is not limited here.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shop_domain::gate::StockGate;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The endpoints that place orders.
const HOT: [&str; 3] = ["/api/buy", "/api/buy/product", "/api/cart/checkout"];

/// How many purchases may wait per place: 256 places and 2,048 waiting take 1,024 keep-alive
/// buyers without shedding anyone, while a storm of 10,000 sheds the rest at once.
const WAITING_PER_PLACE: usize = 8;

/// What the shed buyer reads.
pub const BUSY: &str =
    "The shop is very busy right now. Nothing was taken or charged; please try again in a moment.";

#[derive(Clone, Debug)]
pub struct BuyQueue {
    permits: Arc<Semaphore>,
    /// Purchases waiting for a place now, and how many may.
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    wait: Duration,
    /// Shed since the last report to the gate's shop-wide count.
    shed: Arc<AtomicI64>,
}

/// How often a process adds what it shed to the shop-wide count.
const SHED_REPORT: Duration = Duration::from_secs(1);

/// Counts a waiting purchase for as long as it waits.
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl BuyQueue {
    pub fn new(concurrency: usize, wait: Duration) -> BuyQueue {
        let concurrency = concurrency.max(1);
        BuyQueue {
            permits: Arc::new(Semaphore::new(concurrency)),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: concurrency * WAITING_PER_PLACE,
            wait,
            shed: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Adds what this process shed to the stock gate's shop-wide count (the admin's live
    /// view), once a second: a shed purchase itself makes no gate call, the shop being
    /// overloaded when it sheds. Runs until aborted.
    pub async fn report_shed(self, gate: Arc<dyn StockGate>) {
        let mut tick = tokio::time::interval(SHED_REPORT);
        loop {
            tick.tick().await;
            let n = self.shed.swap(0, Ordering::AcqRel);
            if n > 0 {
                if let Err(e) = gate.add_shed(n).await {
                    tracing::warn!(error = %e, shed = n, "could not count shed purchases; trying again");
                    self.shed.fetch_add(n, Ordering::AcqRel);
                }
            }
        }
    }

    fn shed(&self, html: bool) -> Response {
        self.shed.fetch_add(1, Ordering::AcqRel);
        busy(html)
    }

    /// Takes one place (tests hold every place to see what a shed buyer gets).
    pub fn hold(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }
}

pub async fn buy_queue(State(queue): State<BuyQueue>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !HOT.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let permit = match queue.permits.clone().try_acquire_owned() {
        Ok(p) => p,
        Err(_) => {
            let waiting = Waiting(queue.waiting.clone());
            if waiting.0.fetch_add(1, Ordering::AcqRel) >= queue.max_waiting {
                return queue.shed(crate::guard::accepts_html(&req));
            }
            match tokio::time::timeout(queue.wait, queue.permits.clone().acquire_owned()).await {
                Ok(Ok(p)) => p,
                _ => return queue.shed(crate::guard::accepts_html(&req)),
            }
        }
    };
    let res = next.run(req).await;
    drop(permit);
    res
}

fn busy(html: bool) -> Response {
    tracing::warn!("buy path saturated: request shed with 503");
    let mut res = if html {
        // A browser without JavaScript posted the form: a page, not JSON.
        let page = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Very busy - Flashmart</title>\
             <link rel=\"stylesheet\" href=\"/style/main.css\"></head><body><main class=\"container\">\
             <h1>Very busy</h1><p>{BUSY}</p><p><a href=\"/\">Back to the shop</a></p></main></body></html>"
        );
        (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page)
            .into_response()
    } else {
        let body = serde_json::to_string(&app::AppError::Unavailable(BUSY.into())).unwrap_or_default();
        (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    res
}
