//! Integration tests of `warden-store`: one conformance suite, written once over
//! `S: Store`, run against SQLite always and PostgreSQL when
//! `WARDEN_TEST_POSTGRES` names a database.

// clippy.toml allows these in `#[test]` functions, but the suite's checks are
// plain async functions shared by both backends: in this test binary a failed
// check should panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed check panics"
)]

mod conformance;
mod postgres;
mod sqlite;

/// Generates one `#[tokio::test]` per conformance check for a backend whose
/// module has `async fn open() -> Option<Context>`, where `Context` has
/// `store()` and `async fn finish(self)`. Each check runs in its own task so
/// the backend is cleaned up even when the check fails.
#[macro_export]
macro_rules! conformance_tests {
    ($($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let Some(context) = open().await else { return };
                let outcome = tokio::spawn($crate::conformance::$check(context.store())).await;
                context.finish().await;
                if let Err(err) = outcome {
                    std::panic::resume_unwind(err.into_panic());
                }
            }
        )*
    };
}
