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
//!
//! On top of it, the invite token helpers of Onezone's two REST endpoints (SPEC §10.5):
//! [`provider_registration_token`] and [`space_support_token`] mint `rop` and `ssp` tokens;
//! [`OnedataToken::parse`] reads a token so a server can find its secret, and
//! [`OnedataToken::verify_invite`] checks it the way Onezone does (token kind, revocation of
//! temporary tokens, the invite token's caveat set, expiry) and returns the [`InviteClaims`].
//!
//! ```
//! use macaroon_mint::onedata::{
//!     provider_registration_token, space_support_token, Expiry, InviteOptions, InvitePolicy,
//!     InviteType, OnedataError, OnedataToken, Subject,
//! };
//! use macaroon_mint::{AuthContext, RootKey};
//!
//! // Onezone mints (Onedata secrets are 64 lowercase hex characters; the text is the key).
//! let key = RootKey::new("5f2b1c0e9d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c");
//! let now = 1_700_000_000;
//! let opts = InviteOptions { expiry: Some(Expiry::after(3600, now)), ..InviteOptions::default() };
//! let rop = provider_registration_token(&key, "onezone.example", "alice", "alice", &opts)?;
//! let alice = Subject::User("alice".into());
//! let ssp = space_support_token(&key, "onezone.example", alice, "space1", &opts)?;
//!
//! // On use: read the token (token_id() finds its secret), then verify the kind it must be.
//! let (ctx, policy) = (AuthContext::new(), InvitePolicy::default());
//! let token = OnedataToken::parse(&rop.token)?;
//! assert_eq!(token.token_id(), rop.identifier.id());
//! let claims = token.verify_invite(&key, InviteType::RegisterOneprovider, now, &ctx, &policy)?;
//! assert_eq!((claims.target.as_str(), claims.expiry), ("alice", Some(now + 3600)));
//!
//! let token = OnedataToken::parse(&ssp.token)?;
//! let claims = token.verify_invite(&key, InviteType::SupportSpace, now, &ctx, &policy)?;
//! assert_eq!(claims.target, "space1");
//! // An ssp token where a rop token is required is refused.
//! let err = token.verify_invite(&key, InviteType::RegisterOneprovider, now, &ctx, &policy);
//! assert!(matches!(err, Err(OnedataError::WrongInviteType { .. })));
//! # Ok::<(), OnedataError>(())
//! ```

mod error;
mod identifier;
mod mint;
mod verify;

pub use self::error::OnedataError;
pub use self::identifier::{
    IdentifierError, IdentifierErrorKind, InviteType, OnedataIdentifier, ParsedIdentifier,
    Persistence, Segment, Subject, TokenType,
};
pub use self::mint::{
    invite_token, provider_registration_token, space_support_token, Expiry, InviteOptions,
    MintedToken, ACCESS_CAVEATS, IDENTITY_CAVEATS, INVITE_CAVEATS,
};
pub use self::verify::{InviteClaims, InvitePolicy, OnedataToken, DEFAULT_TEMPORARY_MAX_TTL};
