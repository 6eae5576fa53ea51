//! The shop's domain in plain Rust.
//!
//! This crate must never depend on axum, Leptos, sqlx, redis or rdkafka: it is the part of the
//! system that decides things (what a price is, whether a sale is live, what a valid search is),
//! and it is shared by the web tier, the workers and the browser bundle alike.

pub mod account;
pub mod activity;
pub mod admin;
pub mod catalog;
pub mod gate;
pub mod mail;
pub mod money;
pub mod order;
pub mod providers;
pub mod returns;
pub mod saga;
pub mod sale;
pub mod search;
pub mod time;
pub mod verification;

pub use account::{Address, CurrentUser, FieldError, FieldErrors, PaymentKind, PaymentMethod, Role};
pub use catalog::{
    CartLine, Page, ProductDetail, ProductQuery, ProductSummary, QueryError, Sort, StockLevel, PAGE_SIZE,
};
pub use money::Money;
pub use order::{OrderDetail, OrderEvent, OrderLine, OrderProgress, OrderStatus, OrderSummary};
pub use sale::{SaleDetail, SaleStatus, SaleSummary, SaleWindow, SaleWindowError};
pub use time::Timestamp;
