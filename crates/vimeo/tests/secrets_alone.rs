//! The no-secrets-in-logs test in a process of its own: `tracing` keeps
//! callsite interest and the max level globally, and tests running beside it
//! on other threads (with their own subscribers, or none) race that state,
//! which once left a span uncaptured. Alone, what it captures is complete.
#![allow(dead_code)] // the shared support module serves the other binary too

#[path = "secrets.rs"]
mod secrets;
#[path = "support.rs"]
mod support;
