//! Gateway integration tests: the decision API and the admin API over real
//! loopback HTTP, on SQLite always and on PostgreSQL when
//! `WARDEN_TEST_POSTGRES` names a database.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

mod admin;
mod alerts;
mod attacks;
mod audit;
mod console;
mod federation;
mod fuzz;
mod harness;
mod identity;
mod inventory;
mod monitor;
mod mtls;
mod otel;
mod pins;
mod provenance;
mod walkthrough;
