#![no_main]
//! See `macaroon_mint_fuzz::parse` for the oracle.

libfuzzer_sys::fuzz_target!(|data: &[u8]| macaroon_mint_fuzz::parse::parse_any(data));
