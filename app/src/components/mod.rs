//! Reusable view pieces. They take data; they never fetch it.

pub mod activity;
pub mod error_view;
pub mod footer;
pub mod form;
pub mod header;
pub mod live_sale;
pub mod pager;
pub mod product_card;
pub mod returns;
pub mod sale_card;
