#![no_main]
//! See `macaroon_mint_fuzz::roundtrip` for the oracle.

libfuzzer_sys::fuzz_target!(|data: &[u8]| macaroon_mint_fuzz::roundtrip::roundtrip(data));
