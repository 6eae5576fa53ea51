//! One file per route. Pages call `api` server functions; they never touch the store.

pub mod account;
pub mod admin;
pub mod cart;
pub mod home;
pub mod login;
pub mod not_found;
pub mod orders;
pub mod product;
pub mod products;
pub mod sale;
pub mod signup;
