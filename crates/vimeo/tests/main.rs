//! Facade tests over loopback against the sandbox (one binary).

mod api;
mod auth;
mod errors;
mod examples;
mod legacy;
mod media;
mod proxy;
mod pull;
mod resume;
mod support;
mod ticket;
mod upload;
