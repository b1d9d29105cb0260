//! Integration tests of the MCP core: fuzzing of the JSON-RPC message
//! reader, the newline-delimited stream reader and the mediator.

// Tests fail loudly: an unexpected `Err` or outcome is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fuzz;
