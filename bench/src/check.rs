//! The invariants every drill checks, whatever it measured: exactly the units sold, nobody
//! over the limit, every accepted answer an order in the database (none lost, none extra),
//! the gate and the database agreeing, and every accepted order delivered.

use crate::deploy::Deployment;
use crate::drill::{Measured, Scenario};
use anyhow::Result;
use shop_domain::Timestamp;
use shop_store::Store;
use std::time::{Duration, Instant};

async fn scalar(store: &Store, sql: &str, sale: i64) -> Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>(sql).bind(sale).fetch_one(store.pool()).await?)
}

/// Checks taken right after the rush; returns what did not hold.
pub async fn invariants(
    shop: &Deployment,
    store: &Store,
    scenario: &Scenario,
    sale: i64,
    m: &Measured,
) -> Result<Vec<String>> {
    let mut broken = Vec::new();
    let accepted = m.accepted as i64;
    let expected = scenario.expected_sold();
    if accepted > expected {
        broken.push(format!("oversold: {accepted} accepted for {expected} units"));
    }
    if accepted < expected && m.shed == 0 && m.errors == 0 {
        broken
            .push(format!("undersold: {accepted} accepted, {expected} units, and every buyer was answered"));
    }
    if m.errors > 0 {
        broken.push(format!("{} requests failed (see the sample answers)", m.errors));
    }
    if m.not_open > 0 {
        broken.push(format!("{} buyers were told the sale was not open", m.not_open));
    }
    let orders = scalar(store, "SELECT COUNT(*) FROM orders WHERE sale_id = $1", sale).await?;
    if orders != accepted {
        broken.push(format!("{accepted} accepted answers but {orders} orders in the database"));
    }
    let units = scalar(
        store,
        "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM order_lines WHERE sale_id = $1 AND status = 'ACTIVE'",
        sale,
    )
    .await?;
    if units != accepted {
        broken.push(format!("{units} units on order lines for {accepted} accepted one-unit orders"));
    }
    let most = scalar(
        store,
        "SELECT CAST(COALESCE(MAX(n), 0) AS BIGINT) FROM (SELECT SUM(l.quantity) AS n FROM order_lines l \
         JOIN orders o ON o.id = l.order_id WHERE l.sale_id = $1 AND l.status = 'ACTIVE' GROUP BY o.user_id) t",
        sale,
    )
    .await?;
    if most > scenario.limit {
        broken.push(format!("a buyer holds {most} units, over the limit of {}", scenario.limit));
    }
    for addr in &shop.web {
        match crate::load::get(*addr, &format!("/api/sale?id={sale}")).await {
            Some((status, body)) if status.is_success() => {
                let v: serde_json::Value = serde_json::from_slice(&body)?;
                let gate_sold = v["summary"]["sold"].as_i64().unwrap_or(-1);
                if gate_sold != units {
                    broken
                        .push(format!("the gate (via {addr}) counts {gate_sold} sold, the database {units}"));
                }
            }
            other => broken.push(format!("GET /api/sale on {addr}: {:?}", other.map(|(s, _)| s))),
        }
    }
    Ok(broken)
}

/// Waits until `accepted` orders of the sale are DELIVERED; the time since the opening, or
/// `None` after the time limit.
pub async fn delivered(
    store: &Store,
    sale: i64,
    accepted: i64,
    opens: Timestamp,
) -> Result<Option<Duration>> {
    let limit = Duration::from_secs(60 + (accepted as u64) / 50);
    let started = Instant::now();
    loop {
        let done =
            scalar(store, "SELECT COUNT(*) FROM orders WHERE sale_id = $1 AND status = 'DELIVERED'", sale)
                .await?;
        if done >= accepted {
            let ms = (Timestamp::now().millis() - opens.millis()).max(0) as u64;
            return Ok(Some(Duration::from_millis(ms)));
        }
        if started.elapsed() > limit {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Once everything is delivered: the database's sold count is what was accepted.
pub async fn after_delivery(store: &Store, sale: i64, accepted: i64) -> Result<Vec<String>> {
    let sold = scalar(store, "SELECT sold FROM flash_sales WHERE id = $1", sale).await?;
    Ok(if sold == accepted {
        Vec::new()
    } else {
        vec![format!("the sale's sold count is {sold} after delivery, {accepted} were accepted")]
    })
}
