//! Integration tests for the oauth1 crate, compiled as one binary.

mod flow;
mod malformed;
mod parts;
mod properties;
mod roundtrip;
mod vectors;
mod verify_key;
