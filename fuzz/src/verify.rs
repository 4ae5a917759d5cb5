//! `verify_oracle`: nothing verifies that was not signed with the key, and nothing that was
//! signed stops verifying because of an unsigned change.
//!
//! Two modes, chosen by the first byte:
//!
//! * `S` + bytes: a [`Scenario`] decoded with `arbitrary`. A root (first- and third-party
//!   caveats, nested discharges) is minted from fuzz-chosen fields and must verify; then its
//!   caveats, its packets, the bytes of its encoding and the discharge set are mutated. The result
//!   must verify **exactly** when its signed content (identifier, caveat ids and vids, signature,
//!   and the multiset of discharges' signed content) equals the original's: any other success is
//!   a forgery, any other failure a false rejection.
//! * anything else: the input is a token (optionally followed by discharges, each after a
//!   `\n--\n` separator). It must never verify under [`ORACLE_KEY`], which no seed and no target
//!   ever mints with — the fuzzer cannot compute an HMAC. As a positive control, its content
//!   re-minted under another key (with discharges for its third-party caveats) must verify.
//!
//! In both modes the server fast path [`Verifier::verify_token`] must return exactly what
//! parse-then-[`Verifier::verify`] returns.

use arbitrary::Arbitrary;
use macaroon_mint::{Clock, Error, Format, Limits, Macaroon, Parsed, RootKey, Verifier};

use crate::wire::{self, Parts, V2Chunk};
use crate::{check_error, semantic, Semantic};

/// The key random input must never verify under. Nothing mints with it.
pub const ORACLE_KEY: &[u8] = b"verify_oracle: the key no seed and no target ever mints with";

/// Separates the root from discharges in the random mode.
pub const SEPARATOR: &[u8] = b"\n--\n";

const MINT_KEY: &[u8] = b"verify_oracle: scenario root key";
const REBUILD_KEY: &[u8] = b"verify_oracle: positive-control key";

fn accept_all<'a>() -> Verifier<'a> {
    Verifier::new().satisfy_general(|_| true)
}

/// The `verify_oracle` target.
pub fn verify_oracle(data: &[u8]) {
    match data.split_first() {
        Some((b'S', rest)) => {
            if let Ok(s) = Scenario::arbitrary(&mut arbitrary::Unstructured::new(rest)) {
                s.run();
            }
        }
        _ => random(data),
    }
}

fn split_separated(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        let (head, tail) = rest.split_at(i);
        parts.push(head);
        rest = tail.get(SEPARATOR.len()..).unwrap_or_default();
    }
    parts.push(rest);
    parts
}

/// `verify_token` must return exactly what parse + verify does, and on success the macaroon its
/// `Verified` reads back from the decoded bytes must be the parsed one.
fn check_fast_path(
    fast: Result<macaroon_mint::Verified<'_>, macaroon_mint::Error>,
    full: &Result<(), macaroon_mint::Error>,
    parsed: &Result<Macaroon, macaroon_mint::Error>,
) {
    if let (Ok(verified), Ok(parsed)) = (&fast, parsed) {
        assert_eq!(
            verified.identifier(),
            parsed.identifier(),
            "verify_token's identifier"
        );
        assert_eq!(
            &verified.macaroon().into_owned(),
            parsed,
            "verify_token's Verified differs from the parsed macaroon"
        );
    }
    assert_eq!(
        &fast.map(|_| ()),
        full,
        "verify_token disagrees with parse + verify"
    );
}

/// Random input under the oracle key: parse, then never verify.
pub fn random(data: &[u8]) {
    let parts = split_separated(data);
    let (root_bytes, discharge_bytes) = parts.split_first().expect("split yields one part");
    let limits = Limits::default();
    let discharges: Vec<Macaroon> = discharge_bytes
        .iter()
        .take(8)
        .filter_map(|d| Parsed::from_bytes(d, &limits).ok().map(|p| p.macaroon))
        .collect();
    let key = RootKey::new(ORACLE_KEY);
    let parsed = Parsed::from_bytes(root_bytes, &limits).map(|p| p.macaroon);
    let full = parsed.as_ref().map_err(Clone::clone).and_then(|root| {
        for verifier in [accept_all(), accept_all().ignore_unused_discharges()] {
            let result = verifier.verify(&key, root, &discharges);
            assert!(
                result.is_err(),
                "FORGERY: random input verified under the oracle key: {root:?}"
            );
        }
        accept_all().verify(&key, root, &discharges).map(|_| ())
    });
    if let Err(e) = &full {
        check_error(e, root_bytes.len(), "verify random");
    }
    if let Ok(text) = core::str::from_utf8(root_bytes) {
        // `verify_token` reads text, as `Parsed::from_text` does (raw v1 packets are bytes).
        let parsed = Parsed::from_text(text, &limits).map(|p| p.macaroon);
        for verifier in [accept_all(), capped()] {
            let full = parsed
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|root| verifier.verify(&key, root, &discharges).map(|_| ()));
            let fast = verifier.verify_token(&key, text, &discharges);
            check_fast_path(fast, &full, &parsed);
        }
    }
    if let Ok(root) = &parsed {
        positive_control(root);
    }
}

/// Accepts every predicate but caps the lifetime: `time <` caveats decide, on both paths.
fn capped<'a>() -> Verifier<'a> {
    accept_all().with_clock(Clock::at(1_700_000_000).with_max_ttl(86_400))
}

/// Re-mints `m`'s content under a known key; the copy must verify by every path.
fn positive_control(m: &Macaroon) {
    let third_party = m.caveats().iter().filter(|c| c.is_third_party()).count();
    if third_party > Limits::default().max_discharges {
        return;
    }
    let key = RootKey::new(REBUILD_KEY);
    let mut copy = Macaroon::mint(&key, m.location(), m.identifier()).expect("parsed fields fit");
    let mut unbound = Vec::new();
    for (i, c) in m.caveats().iter().enumerate() {
        copy = if c.is_third_party() {
            // The key depends on the id only, so twin ids get interchangeable discharges.
            let caveat_key = RootKey::new([REBUILD_KEY, c.id()].concat());
            unbound.push(Macaroon::mint(&caveat_key, "", c.id()).expect("parsed id fits"));
            let nonce = [i as u8; 24];
            copy.with_third_party_nonce(c.location(), &caveat_key, c.id(), nonce)
        } else {
            copy.with_first_party(c.id())
        }
        .expect("parsed caveat fits");
    }
    let discharges: Vec<Macaroon> = unbound.iter().map(|d| d.bind_to(&copy)).collect();
    if let Err(e) = accept_all().verify(&key, &copy, &discharges) {
        panic!("re-minted content does not verify: {e} ({copy:?})");
    }
    for format in [Format::V2, Format::V1] {
        let Ok(text) = copy.serialize(format) else {
            continue;
        };
        let result = accept_all().verify_token(&key, &text, &discharges);
        match result {
            Ok(verified) => assert_eq!(
                verified.into_macaroon(),
                copy,
                "verify_token's Verified is not the re-minted {format} macaroon"
            ),
            Err(e) => panic!("verify_token rejects re-minted {format} text: {e}"),
        }
    }
}

/// How the root travels.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// v1 base64 text.
    V1,
    /// v2 base64 text.
    V2,
    /// v2 JSON.
    V2Json,
    /// Onedata base62 text.
    Onedata,
    /// Onedata text with the `opw-` service indication.
    OnedataOpw,
    /// Raw v1 packets (`Parsed::from_bytes`).
    V1Raw,
    /// Raw v2 bytes.
    V2Raw,
}

/// A caveat to mint.
#[derive(Arbitrary, Debug)]
pub enum CaveatSpec {
    /// A first-party predicate.
    First(Vec<u8>),
    /// A third-party caveat, discharged by a macaroon with these first-party caveats and, if
    /// given, one nested third-party caveat (discharged in turn).
    Third {
        /// The third party's location.
        location: Vec<u8>,
        /// The caveat id (made unique by the scenario).
        id: Vec<u8>,
        /// The encryption nonce.
        nonce: [u8; 24],
        /// The discharge's first-party caveats.
        discharge_caveats: Vec<Vec<u8>>,
        /// A nested third-party caveat of the discharge: id and nonce.
        nested: Option<(Vec<u8>, [u8; 24])>,
    },
}

/// An unsigned edit of a macaroon's parts (what an attacker holding the token can do).
#[derive(Arbitrary, Debug, Clone)]
pub enum Edit {
    /// Remove a caveat.
    DropCaveat(u8),
    /// Repeat a caveat right after itself.
    DuplicateCaveat(u8),
    /// Exchange two caveats.
    SwapCaveats(u8, u8),
    /// Move a caveat to the end.
    MoveCaveatLast(u8),
    /// Turn a third-party caveat into a first-party one.
    DropVid(u8),
    /// Give a caveat a vid.
    SetVid(u8, Vec<u8>),
    /// Exchange the vids of two caveats.
    SwapVids(u8, u8),
    /// Set one byte of a vid.
    EditVid(u8, u8, u8),
    /// Set one byte of a caveat id.
    EditCaveatId(u8, u8, u8),
    /// Cut a caveat id short.
    TruncateCaveatId(u8, u8),
    /// Set one byte of the identifier.
    EditIdentifier(u8, u8),
    /// Flip one signature bit.
    FlipSignatureBit(u8),
    /// Append a first-party caveat without updating the signature.
    AppendUnsignedCaveat(Vec<u8>),
    /// Replace the location (unsigned: must not matter).
    SetLocation(Vec<u8>),
    /// Replace a caveat's location (unsigned: must not matter).
    SetCaveatLocation(u8, Vec<u8>),
}

/// An edit of the encoded packets (v1 packets, v2 fields).
#[derive(Arbitrary, Debug, Clone)]
pub enum PacketEdit {
    /// Remove a packet or field.
    Drop(u8),
    /// Repeat a packet or field.
    Duplicate(u8),
    /// Exchange two packets or fields.
    Swap(u8, u8),
    /// Change a declared length, leaving the data.
    Relength(u8, i8),
}

/// An edit of the bytes of the final encoding.
#[derive(Arbitrary, Debug, Clone)]
pub enum ByteEdit {
    /// Flip one bit.
    FlipBit(u16, u8),
    /// Overwrite one byte.
    Set(u16, u8),
    /// Insert one byte.
    Insert(u16, u8),
    /// Delete a range.
    Delete(u16, u8),
    /// Repeat a range right after itself.
    Duplicate(u16, u8),
    /// Cut the encoding short.
    Truncate(u16),
}

/// An edit of the discharge list.
#[derive(Arbitrary, Debug, Clone)]
pub enum DischargeEdit {
    /// Remove a discharge.
    Drop(u8),
    /// Send a discharge twice.
    Duplicate(u8),
    /// Exchange two discharges (order must not matter).
    Swap(u8, u8),
    /// Reverse the list.
    Reverse,
    /// Replace a discharge by an unbound one.
    Unbind(u8),
    /// Bind a bound discharge again.
    BindTwice(u8),
    /// Bind a discharge to itself instead of the root.
    BindToSelf(u8),
    /// Re-bind every discharge to the (possibly edited) root, as anyone can.
    RebindAll,
    /// Exchange the identifiers of two discharges.
    SwapIdentifiers(u8, u8),
    /// An unsigned edit of one discharge.
    Edit(u8, Edit),
}

/// A root, its discharges, and what happens to them on the way.
#[derive(Arbitrary, Debug)]
pub struct Scenario {
    location: Vec<u8>,
    identifier: Vec<u8>,
    caveats: Vec<CaveatSpec>,
    wire: Wire,
    edits: Vec<Edit>,
    packet_edits: Vec<PacketEdit>,
    byte_edits: Vec<ByteEdit>,
    discharge_edits: Vec<DischargeEdit>,
}

fn pick(i: u8, len: usize) -> Option<usize> {
    (len > 0).then(|| usize::from(i) % len)
}

fn set_byte(field: &mut Vec<u8>, at: u8, byte: u8) {
    match pick(at, field.len()) {
        Some(i) => field[i] = byte,
        None => field.push(byte),
    }
}

/// Applies an unsigned edit; `None` when the result does not fit the v1 packets used to build it.
pub fn apply_edit(m: &Macaroon, edit: &Edit) -> Option<Macaroon> {
    let mut location = m.location().to_vec();
    let mut identifier = m.identifier().to_vec();
    let mut caveats: Vec<Parts> = wire::caveat_parts(m);
    let mut sig = *m.signature();
    let n = caveats.len();
    match edit.clone() {
        Edit::DropCaveat(i) => {
            caveats.remove(pick(i, n)?);
        }
        Edit::DuplicateCaveat(i) => {
            let i = pick(i, n)?;
            caveats.insert(i, caveats[i].clone());
        }
        Edit::SwapCaveats(i, j) => caveats.swap(pick(i, n)?, pick(j, n)?),
        Edit::MoveCaveatLast(i) => {
            let c = caveats.remove(pick(i, n)?);
            caveats.push(c);
        }
        Edit::DropVid(i) => caveats[pick(i, n)?].1 = None,
        // An empty vid reads as first-party in v1: keep it non-empty so the edit is what it says.
        Edit::SetVid(i, vid) if !vid.is_empty() => caveats[pick(i, n)?].1 = Some(vid),
        Edit::SetVid(..) => return None,
        Edit::SwapVids(i, j) => {
            let (i, j) = (pick(i, n)?, pick(j, n)?);
            let vi = caveats[i].1.clone();
            caveats[i].1 = caveats[j].1.clone();
            caveats[j].1 = vi;
        }
        Edit::EditVid(i, at, byte) => {
            if let Some(vid) = caveats[pick(i, n)?].1.as_mut() {
                set_byte(vid, at, byte);
            }
        }
        Edit::EditCaveatId(i, at, byte) => set_byte(&mut caveats[pick(i, n)?].0, at, byte),
        Edit::TruncateCaveatId(i, len) => caveats[pick(i, n)?].0.truncate(usize::from(len)),
        Edit::EditIdentifier(at, byte) => set_byte(&mut identifier, at, byte),
        Edit::FlipSignatureBit(bit) => sig[usize::from(bit / 8) % 32] ^= 1 << (bit % 8),
        Edit::AppendUnsignedCaveat(id) => caveats.push((id, None, Vec::new())),
        Edit::SetLocation(l) => location = l,
        Edit::SetCaveatLocation(i, l) => caveats[pick(i, n)?].2 = l,
    }
    wire::assemble(&location, &identifier, &caveats, &sig)
}

fn apply_packet_edit_v1(chunks: &mut Vec<Vec<u8>>, edit: &PacketEdit) {
    let n = chunks.len();
    if n == 0 {
        return;
    }
    match *edit {
        PacketEdit::Drop(i) => {
            chunks.remove(usize::from(i) % n);
        }
        PacketEdit::Duplicate(i) => {
            let i = usize::from(i) % n;
            chunks.insert(i, chunks[i].clone());
        }
        PacketEdit::Swap(i, j) => chunks.swap(usize::from(i) % n, usize::from(j) % n),
        PacketEdit::Relength(i, delta) => {
            wire::relength_v1(&mut chunks[usize::from(i) % n], i32::from(delta))
        }
    }
}

fn apply_packet_edit_v2(chunks: &mut Vec<V2Chunk>, edit: &PacketEdit) {
    let n = chunks.len();
    if n == 0 {
        return;
    }
    match *edit {
        PacketEdit::Drop(i) => {
            chunks.remove(usize::from(i) % n);
        }
        PacketEdit::Duplicate(i) => {
            let i = usize::from(i) % n;
            chunks.insert(i, chunks[i].clone());
        }
        PacketEdit::Swap(i, j) => chunks.swap(usize::from(i) % n, usize::from(j) % n),
        PacketEdit::Relength(i, delta) => {
            if let V2Chunk::Field { len, .. } = &mut chunks[usize::from(i) % n] {
                *len = len.saturating_add_signed(i64::from(delta));
            }
        }
    }
}

fn apply_byte_edit(bytes: &mut Vec<u8>, edit: &ByteEdit) {
    let n = bytes.len();
    let at = |i: u16| if n == 0 { 0 } else { usize::from(i) % n };
    match *edit {
        ByteEdit::FlipBit(i, bit) if n > 0 => bytes[at(i)] ^= 1 << (bit % 8),
        ByteEdit::Set(i, b) if n > 0 => bytes[at(i)] = b,
        ByteEdit::Insert(i, b) => bytes.insert(at(i), b),
        ByteEdit::Delete(i, len) if n > 0 => {
            let start = at(i);
            let end = (start + usize::from(len)).min(n);
            bytes.drain(start..end);
        }
        ByteEdit::Duplicate(i, len) if n > 0 => {
            let start = at(i);
            let end = (start + usize::from(len)).min(n);
            let copy = bytes[start..end].to_vec();
            bytes.splice(end..end, copy);
        }
        ByteEdit::Truncate(i) => bytes.truncate(usize::from(i) % (n + 1)),
        _ => {}
    }
}

/// The wire bytes of raw packets.
fn encode(wire: Wire, raw: &[u8]) -> Vec<u8> {
    match wire {
        Wire::V1 | Wire::V2 => wire::b64(raw).into_bytes(),
        Wire::Onedata => wire::onedata_text(raw).into_bytes(),
        Wire::OnedataOpw => format!("opw-{}", wire::onedata_text(raw)).into_bytes(),
        Wire::V1Raw | Wire::V2Raw | Wire::V2Json => raw.to_vec(),
    }
}

fn decode(wire: Wire, bytes: &[u8]) -> Result<Macaroon, Error> {
    match wire {
        Wire::V1Raw => Parsed::from_bytes(bytes, &Limits::default()).map(|p| p.macaroon),
        _ => Parsed::from_bytes(bytes, &Limits::default()).map(|p| p.macaroon),
    }
}

fn sorted(ds: &[Macaroon]) -> Vec<Semantic> {
    let mut s: Vec<Semantic> = ds.iter().map(semantic).collect();
    s.sort();
    s
}

impl Scenario {
    /// Mints the root and its (unbound) discharges; `None` if a field is too large to mint.
    fn mint(&self) -> Option<(Macaroon, Vec<Macaroon>)> {
        let key = RootKey::new(MINT_KEY);
        let mut root = Macaroon::mint(&key, &self.location, &self.identifier).ok()?;
        let mut unbound = Vec::new();
        let mut counter = 0u32;
        // Unique caveat ids keep the discharge set order-independent, as the oracle assumes.
        let mut unique = |id: &[u8]| {
            counter += 1;
            [id, format!("#{counter}").as_bytes()].concat()
        };
        for spec in self.caveats.iter().take(8) {
            root = match spec {
                CaveatSpec::First(p) => root.with_first_party(p).ok()?,
                CaveatSpec::Third {
                    location,
                    id,
                    nonce,
                    discharge_caveats,
                    nested,
                } => {
                    let cid = unique(id);
                    let caveat_key = RootKey::new([b"caveat key ", cid.as_slice()].concat());
                    let mut d = Macaroon::mint(&caveat_key, location, &cid).ok()?;
                    for p in discharge_caveats.iter().take(3) {
                        d = d.with_first_party(p).ok()?;
                    }
                    if let Some((nested_id, nested_nonce)) = nested {
                        let ncid = unique(nested_id);
                        let nkey = RootKey::new([b"nested key ", ncid.as_slice()].concat());
                        d = d
                            .with_third_party_nonce("", &nkey, &ncid, *nested_nonce)
                            .ok()?;
                        unbound.push(Macaroon::mint(&nkey, "", &ncid).ok()?);
                    }
                    unbound.push(d);
                    root.with_third_party_nonce(location, &caveat_key, &cid, *nonce)
                        .ok()?
                }
            };
        }
        Some((root, unbound))
    }

    /// Mints, mutates, and checks the oracle.
    pub fn run(&self) {
        let Some((root0, unbound)) = self.mint() else {
            return;
        };
        let discharges0: Vec<Macaroon> = unbound.iter().map(|d| d.bind_to(&root0)).collect();
        let key = RootKey::new(MINT_KEY);
        if let Err(e) = accept_all().verify(&key, &root0, &discharges0) {
            panic!("a freshly minted scenario does not verify: {e}");
        }

        // 1. Unsigned edits of the root's parts.
        let mut root = root0.clone();
        for edit in self.edits.iter().take(4) {
            match apply_edit(&root, edit) {
                Some(m) => root = m,
                None => return,
            }
        }

        // 2. Packet edits, 3. byte edits of the encoding.
        let raw = match self.wire {
            Wire::V1 | Wire::Onedata | Wire::OnedataOpw | Wire::V1Raw => {
                let Ok(bytes) = root.to_v1_bytes() else {
                    return;
                };
                let mut chunks = wire::split_v1(&bytes);
                for e in self.packet_edits.iter().take(4) {
                    apply_packet_edit_v1(&mut chunks, e);
                }
                chunks.concat()
            }
            Wire::V2 | Wire::V2Raw => {
                let mut chunks = wire::split_v2(&root.to_v2_bytes());
                for e in self.packet_edits.iter().take(4) {
                    apply_packet_edit_v2(&mut chunks, e);
                }
                wire::join_v2(&chunks)
            }
            Wire::V2Json => match root.serialize(Format::V2Json) {
                Ok(text) => text.into_bytes(),
                Err(_) => return,
            },
        };
        let mut encoded = encode(self.wire, &raw);
        for e in self.byte_edits.iter().take(4) {
            apply_byte_edit(&mut encoded, e);
        }

        // 4. Discharge edits.
        let mut discharges = discharges0.clone();
        for e in self.discharge_edits.iter().take(4) {
            if !Self::apply_discharge_edit(&mut discharges, &unbound, &root, e) {
                return;
            }
        }

        // The oracle.
        let parsed = decode(self.wire, &encoded);
        let full = parsed.as_ref().map_err(Clone::clone).and_then(|m| {
            let result = accept_all().verify(&key, m, &discharges).map(|_| ());
            let same =
                semantic(m) == semantic(&root0) && sorted(&discharges) == sorted(&discharges0);
            match (&result, same) {
                (Ok(()), false) => panic!(
                    "FORGERY: altered token verified.\noriginal {root0:?}\naltered {m:?}\n\
                     discharges {discharges:?}"
                ),
                (Err(e), true) => {
                    panic!("false rejection of an unchanged (signed content) token: {e}\n{m:?}")
                }
                _ => {}
            }
            result
        });
        if let Err(e) = &full {
            check_error(e, encoded.len(), "verify scenario");
        }
        if !matches!(self.wire, Wire::V1Raw | Wire::V2Raw) {
            if let Ok(text) = core::str::from_utf8(&encoded) {
                let fast = accept_all().verify_token(&key, text, &discharges);
                check_fast_path(fast, &full, &parsed);
            }
        }
    }

    /// Applies a discharge edit; false when the edit cannot be built (skip the input).
    fn apply_discharge_edit(
        ds: &mut Vec<Macaroon>,
        unbound: &[Macaroon],
        root: &Macaroon,
        edit: &DischargeEdit,
    ) -> bool {
        let n = ds.len();
        match edit {
            DischargeEdit::Reverse => ds.reverse(),
            DischargeEdit::RebindAll => *ds = unbound.iter().map(|d| d.bind_to(root)).collect(),
            _ if n == 0 => {}
            DischargeEdit::Drop(i) => {
                ds.remove(usize::from(*i) % n);
            }
            DischargeEdit::Duplicate(i) => {
                let i = usize::from(*i) % n;
                ds.insert(i, ds[i].clone());
            }
            DischargeEdit::Swap(i, j) => ds.swap(usize::from(*i) % n, usize::from(*j) % n),
            DischargeEdit::Unbind(i) => {
                if let Some(k) = pick(*i, unbound.len()) {
                    ds[usize::from(*i) % n] = unbound[k].clone();
                }
            }
            DischargeEdit::BindTwice(i) => {
                let i = usize::from(*i) % n;
                ds[i] = ds[i].bind_to(root);
            }
            DischargeEdit::BindToSelf(i) => {
                let i = usize::from(*i) % n;
                ds[i] = ds[i].bind_to(&ds[i]);
            }
            DischargeEdit::SwapIdentifiers(i, j) => {
                let (i, j) = (usize::from(*i) % n, usize::from(*j) % n);
                let with_id = |m: &Macaroon, id: &[u8]| {
                    wire::assemble(m.location(), id, &wire::caveat_parts(m), m.signature())
                };
                match (
                    with_id(&ds[i], ds[j].identifier()),
                    with_id(&ds[j], ds[i].identifier()),
                ) {
                    (Some(a), Some(b)) => {
                        ds[i] = a;
                        ds[j] = b;
                    }
                    _ => return false,
                }
            }
            DischargeEdit::Edit(i, edit) => {
                let i = usize::from(*i) % n;
                match apply_edit(&ds[i], edit) {
                    Some(m) => ds[i] = m,
                    None => return false,
                }
            }
        }
        true
    }
}
