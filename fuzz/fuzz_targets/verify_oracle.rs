#![no_main]
//! See `macaroon_mint_fuzz::verify` for the oracle.

libfuzzer_sys::fuzz_target!(|data: &[u8]| macaroon_mint_fuzz::verify::verify_oracle(data));
