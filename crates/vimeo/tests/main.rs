//! Facade tests over loopback (one binary).

mod resume;
