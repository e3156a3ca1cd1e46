//! tus headers: Upload-Offset, Upload-Length, Upload-Metadata (with its round
//! trip), Upload-Expires, Retry-After, Tus-Extension and friends, Location.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tus::fuzzing::headers(data);
});
