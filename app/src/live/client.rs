//! The browser's half of the live layer: one clock and one stock stream per page.

use leptos::prelude::*;
use shop_domain::Timestamp;
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// How often the clock signal moves: a countdown's second flips within this of the real one,
/// and a sale's Buy button enables within this of its start.
const TICK: Duration = Duration::from_millis(250);

/// Where the server pushes stock counts (`server/src/live.rs`).
const STREAM: &str = "/api/live/stock?sales=";

thread_local! {
    static CLOCK: RefCell<Option<ArcRwSignal<Timestamp>>> = const { RefCell::new(None) };
    static STOCK: RefCell<HashMap<i64, ArcRwSignal<i64>>> = RefCell::new(HashMap::new());
    /// Sales whose widgets hydrated since the stream was last opened.
    static PENDING: RefCell<Vec<i64>> = const { RefCell::new(Vec::new()) };
}

/// The server's time, ticking. The offset to the browser's clock is taken from the first
/// widget's render time, so a browser clock that is minutes off changes nothing.
pub fn clock(server_now: Timestamp) -> Signal<Timestamp> {
    let signal = CLOCK.with(|c| {
        c.borrow_mut()
            .get_or_insert_with(|| {
                let offset = server_now.millis() - js_sys::Date::now() as i64;
                let signal = ArcRwSignal::new(server_now);
                let tick = signal.clone();
                set_interval(
                    move || tick.set(Timestamp::from_millis(js_sys::Date::now() as i64 + offset)),
                    TICK,
                );
                signal
            })
            .clone()
    });
    Signal::derive(move || signal.get())
}

/// Units left in sale `id`, starting from what the page was rendered with.
pub fn stock(id: i64, rendered: i64) -> Signal<i64> {
    let signal = STOCK.with(|m| {
        m.borrow_mut()
            .entry(id)
            .or_insert_with(|| {
                subscribe(id);
                ArcRwSignal::new(rendered)
            })
            .clone()
    });
    Signal::derive(move || signal.get())
}

/// Queues `id` for the page's stream. Islands hydrate one after another in the same task, so
/// the stream opens once, after the last of them, for every sale on the page: browsers allow
/// six connections per origin, and a page of sale cards must not spend them all.
fn subscribe(id: i64) {
    let first = PENDING.with(|p| {
        let mut p = p.borrow_mut();
        p.push(id);
        p.len() == 1
    });
    if first {
        set_timeout(open_stream, Duration::ZERO);
    }
}

fn open_stream() {
    let ids: Vec<String> = PENDING.with(|p| p.borrow_mut().drain(..).map(|id| id.to_string()).collect());
    if ids.is_empty() {
        return;
    }
    let Ok(source) = web_sys::EventSource::new(&format!("{STREAM}{}", ids.join(","))) else {
        return;
    };
    // `data: <sale id>:<units left>`; the browser reconnects by itself after a drop, and the
    // server starts every stream with the current counts.
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(|event: web_sys::MessageEvent| {
        let Some(data) = event.data().as_string() else { return };
        let Some((id, left)) = data.split_once(':') else { return };
        let (Some(id), Some(left)) = (number(id), number(left)) else { return };
        if let Some(signal) = STOCK.with(|m| m.borrow().get(&id).cloned()) {
            signal.set(left);
        }
    });
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The page keeps its stream until it is closed.
    on_message.forget();
    std::mem::forget(source);
}

/// A non-negative decimal number (what the stream sends); `str::parse` would ship a general
/// integer parser for two fields.
fn number(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 18 {
        return None;
    }
    text.bytes().try_fold(0i64, |n, b| b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0')))
}
