//! The Onedata token profile (SPEC §10).
//!
//! Onedata tokens are ordinary macaroons in the [`Format::Onedata`](crate::Format::Onedata) text
//! encoding; this module reads what Onedata puts inside them. [`OnedataIdentifier`] is the token
//! identifier (SPEC §10.2): version 2 `2/<persistence>/<subject>/<type>/<id>` or a legacy
//! (version 1) opaque token id.
//!
//! ```
//! use macaroon_mint::onedata::{InviteType, OnedataIdentifier, ParsedIdentifier};
//!
//! let text = "2/nmd/usr-invitation-sender/rop:AdminUserId:/1234567890example-id1234567890e";
//! match OnedataIdentifier::parse(text)? {
//!     ParsedIdentifier::V2(id) => {
//!         assert_eq!(id.invite_kind(), Some(&InviteType::RegisterOneprovider));
//!         assert_eq!(id.invite_target(), Some("AdminUserId"));
//!         assert_eq!(id.to_string(), text);
//!     }
//!     other => panic!("not a version 2 identifier: {other}"),
//! }
//! # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
//! ```

mod identifier;

pub use self::identifier::{
    IdentifierError, IdentifierErrorKind, InviteType, OnedataIdentifier, ParsedIdentifier,
    Persistence, Segment, Subject, TokenType,
};
