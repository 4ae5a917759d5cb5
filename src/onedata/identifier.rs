//! Onedata token identifiers (SPEC §10.2).
//!
//! Current tokens (version 2, Onedata 20.02 and later) carry the identifier
//! `2/<persistence>/<subject>/<type>/<id>`; older tokens carry an opaque token id (version 1,
//! "legacy"). [`OnedataIdentifier::parse`] tells the two apart and checks every fragment, and
//! [`OnedataIdentifier`]'s `Display` writes the identifier text back.

use core::fmt;
use core::str::FromStr;

/// The one identifier version with a structure (Onedata 20.02 and later).
const VERSION: u32 = 2;

/// Whether a token is stored by the server (named) or shares its subject's secret (temporary).
///
/// Written `nmd` or `tmp-<generation>`.
///
/// ```
/// use macaroon_mint::onedata::Persistence;
///
/// assert_eq!(Persistence::Named.to_string(), "nmd");
/// assert_eq!(Persistence::Temporary { generation: 7 }.to_string(), "tmp-7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
// Not `#[non_exhaustive]`: the identifier grammar has exactly these two (SPEC §10.2), and a
// server picks a token's secret by matching on them, which must stay exhaustive.
pub enum Persistence {
    /// A named token (`nmd`): its own secret, stored with the token record.
    Named,
    /// A temporary token (`tmp-<generation>`): the subject's shared secret of this generation.
    Temporary {
        /// The generation of the subject's temporary-token secret (starts at 1; revoking all
        /// temporary tokens increments it).
        generation: u64,
    },
}

impl fmt::Display for Persistence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Persistence::Named => f.write_str("nmd"),
            Persistence::Temporary { generation } => write!(f, "tmp-{generation}"),
        }
    }
}

/// The entity a token was issued to (or, for an invite token, by).
///
/// ```
/// use macaroon_mint::onedata::Subject;
///
/// assert_eq!(Subject::User("uid".into()).to_string(), "usr-uid");
/// assert_eq!(Subject::Nobody.to_string(), "nobody");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Subject {
    /// A user, `usr-<userId>`.
    User(String),
    /// A Oneprovider, `prv-<providerId>`.
    Provider(String),
    /// A group, `grp-<groupId>` (accepted by Onedata's parser; not issued as a token subject).
    Group(String),
    /// No subject, `nobody`.
    Nobody,
}

impl Subject {
    /// The entity id, or `None` for [`Subject::Nobody`].
    ///
    /// ```
    /// use macaroon_mint::onedata::Subject;
    ///
    /// assert_eq!(Subject::Provider("pid".into()).id(), Some("pid"));
    /// assert_eq!(Subject::Nobody.id(), None);
    /// ```
    pub fn id(&self) -> Option<&str> {
        match self {
            Subject::User(id) | Subject::Provider(id) | Subject::Group(id) => Some(id),
            Subject::Nobody => None,
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::User(id) => write!(f, "usr-{id}"),
            Subject::Provider(id) => write!(f, "prv-{id}"),
            Subject::Group(id) => write!(f, "grp-{id}"),
            Subject::Nobody => f.write_str("nobody"),
        }
    }
}

/// The kind of an invite token: what joining or registration it grants (SPEC §10.2).
///
/// Every code Onedata writes has a named variant; an unknown code parses into
/// [`InviteType::Other`] so the token can still be inspected.
///
/// ```
/// use macaroon_mint::onedata::InviteType;
///
/// assert_eq!(InviteType::from_code("rop"), InviteType::RegisterOneprovider);
/// assert_eq!(InviteType::SupportSpace.code(), "ssp");
/// assert_eq!(InviteType::from_code("xyz"), InviteType::Other("xyz".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InviteType {
    /// `ujg`: a user joins the target group.
    UserJoinGroup,
    /// `gjg`: a group joins the target group.
    GroupJoinGroup,
    /// `ujs`: a user joins the target space.
    UserJoinSpace,
    /// `gjs`: a group joins the target space.
    GroupJoinSpace,
    /// `ssp`: a Oneprovider supports the target space with storage.
    SupportSpace,
    /// `hjs`: a harvester joins the target space.
    HarvesterJoinSpace,
    /// `rop`: registers a new Oneprovider; the target is the user who becomes its cluster admin.
    RegisterOneprovider,
    /// `ujc`: a user joins the target cluster.
    UserJoinCluster,
    /// `gjc`: a group joins the target cluster.
    GroupJoinCluster,
    /// `ujh`: a user joins the target harvester.
    UserJoinHarvester,
    /// `gjh`: a group joins the target harvester.
    GroupJoinHarvester,
    /// `sjh`: a space joins the target harvester.
    SpaceJoinHarvester,
    /// `uji`: a user joins the target automation inventory.
    UserJoinAtmInventory,
    /// `gji`: a group joins the target automation inventory.
    GroupJoinAtmInventory,
    /// A code this library does not know, kept for inspection. Onedata's verification rejects
    /// it. Built by [`InviteType::from_code`] only for codes that are not one of the above.
    Other(String),
}

/// Every known invite type with its code, in SPEC order.
const INVITE_CODES: [(InviteType, &str); 14] = [
    (InviteType::UserJoinGroup, "ujg"),
    (InviteType::GroupJoinGroup, "gjg"),
    (InviteType::UserJoinSpace, "ujs"),
    (InviteType::GroupJoinSpace, "gjs"),
    (InviteType::SupportSpace, "ssp"),
    (InviteType::HarvesterJoinSpace, "hjs"),
    (InviteType::RegisterOneprovider, "rop"),
    (InviteType::UserJoinCluster, "ujc"),
    (InviteType::GroupJoinCluster, "gjc"),
    (InviteType::UserJoinHarvester, "ujh"),
    (InviteType::GroupJoinHarvester, "gjh"),
    (InviteType::SpaceJoinHarvester, "sjh"),
    (InviteType::UserJoinAtmInventory, "uji"),
    (InviteType::GroupJoinAtmInventory, "gji"),
];

impl InviteType {
    /// Every named invite type (not [`InviteType::Other`]), in the order of SPEC §10.2.
    ///
    /// ```
    /// use macaroon_mint::onedata::InviteType;
    ///
    /// assert_eq!(InviteType::all().count(), 14);
    /// assert!(InviteType::all().all(|t| InviteType::from_code(t.code()) == t));
    /// ```
    pub fn all() -> impl Iterator<Item = InviteType> {
        INVITE_CODES.into_iter().map(|(t, _)| t)
    }

    /// The invite type written as `code`; [`InviteType::Other`] when the code is not known.
    ///
    /// ```
    /// use macaroon_mint::onedata::InviteType;
    ///
    /// assert_eq!(InviteType::from_code("uji"), InviteType::UserJoinAtmInventory);
    /// ```
    pub fn from_code(code: &str) -> InviteType {
        INVITE_CODES
            .iter()
            .find(|(_, c)| *c == code)
            .map_or_else(|| InviteType::Other(code.to_owned()), |(t, _)| t.clone())
    }

    /// The three-letter code written in the identifier (the text of [`InviteType::Other`]).
    ///
    /// ```
    /// use macaroon_mint::onedata::InviteType;
    ///
    /// assert_eq!(InviteType::RegisterOneprovider.code(), "rop");
    /// ```
    pub fn code(&self) -> &str {
        match self {
            InviteType::Other(code) => code,
            known => INVITE_CODES
                .iter()
                .find(|(t, _)| t == known)
                .map_or("", |(_, c)| c),
        }
    }

    /// The parameters Onedata writes for this invite type: `ge` for [`InviteType::SupportSpace`]
    /// (keeps Onedata 20.02 readers on their default support parameters), empty otherwise.
    ///
    /// ```
    /// use macaroon_mint::onedata::InviteType;
    ///
    /// assert_eq!(InviteType::SupportSpace.default_parameters(), "ge");
    /// assert_eq!(InviteType::RegisterOneprovider.default_parameters(), "");
    /// ```
    pub fn default_parameters(&self) -> &'static str {
        match self {
            InviteType::SupportSpace => "ge",
            _ => "",
        }
    }

    fn is_known(&self) -> bool {
        !matches!(self, InviteType::Other(_))
    }
}

impl fmt::Display for InviteType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What a token is for: access, identity proof, or an invitation.
///
/// Written `act`, `act:<sessionId>`, `idn` or `<code>:<target>:<parameters>`.
///
/// ```
/// use macaroon_mint::onedata::{InviteType, TokenType};
///
/// let access = TokenType::Access { session: Some("sessId".into()) };
/// assert_eq!(access.to_string(), "act:sessId");
/// let invite = TokenType::invite(InviteType::SupportSpace, "SpaceId");
/// assert_eq!(invite.to_string(), "ssp:SpaceId:ge");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenType {
    /// An access token (`act`), optionally bound to a session (`act:<sessionId>`).
    Access {
        /// The session the token is bound to, if any.
        session: Option<String>,
    },
    /// An identity token (`idn`): proves who the bearer is, grants nothing.
    Identity,
    /// An invite token (`<code>:<target>:<parameters>`).
    Invite {
        /// The kind of invitation.
        invite: InviteType,
        /// The id of the entity the invitation is to (group, space, cluster, …; the admin user
        /// for [`InviteType::RegisterOneprovider`]).
        target: String,
        /// The parameters exactly as written (Onedata writes `ge` for `ssp`, nothing otherwise,
        /// and ignores them when reading).
        parameters: String,
    },
}

impl TokenType {
    /// An invite type with the parameters Onedata writes for it ([`InviteType::default_parameters`]).
    ///
    /// ```
    /// use macaroon_mint::onedata::{InviteType, TokenType};
    ///
    /// let t = TokenType::invite(InviteType::RegisterOneprovider, "AdminUserId");
    /// assert_eq!(t.to_string(), "rop:AdminUserId:");
    /// ```
    pub fn invite(invite: InviteType, target: impl Into<String>) -> TokenType {
        let parameters = invite.default_parameters().to_owned();
        TokenType::Invite {
            invite,
            target: target.into(),
            parameters,
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenType::Access { session: None } => f.write_str("act"),
            TokenType::Access {
                session: Some(session),
            } => write!(f, "act:{session}"),
            TokenType::Identity => f.write_str("idn"),
            TokenType::Invite {
                invite,
                target,
                parameters,
            } => write!(f, "{invite}:{target}:{parameters}"),
        }
    }
}

/// A version 2 Onedata token identifier, `2/<persistence>/<subject>/<type>/<id>`.
///
/// Values are either parsed ([`OnedataIdentifier::parse`]) or built through a checking
/// constructor, so `to_string()` always gives text that parses back to the same value.
///
/// ```
/// use macaroon_mint::onedata::{OnedataIdentifier, ParsedIdentifier, Persistence, Subject, TokenType};
///
/// let text = "2/tmp-7/usr-uid/act:sessId/1234567890example-id1234567890a";
/// let ParsedIdentifier::V2(id) = OnedataIdentifier::parse(text)? else { panic!("legacy") };
/// assert_eq!(id.persistence(), Persistence::Temporary { generation: 7 });
/// assert_eq!(id.subject(), &Subject::User("uid".into()));
/// assert_eq!(id.token_type(), &TokenType::Access { session: Some("sessId".into()) });
/// assert_eq!(id.id(), "1234567890example-id1234567890a");
/// assert_eq!(id.to_string(), text);
/// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OnedataIdentifier {
    persistence: Persistence,
    subject: Subject,
    token_type: TokenType,
    id: String,
}

impl OnedataIdentifier {
    /// Parses a token identifier: [`ParsedIdentifier::V2`] for `2/…` text,
    /// [`ParsedIdentifier::Legacy`] for text with no `/` or whose first `/`-fragment is not an
    /// integer.
    ///
    /// Offsets in errors are bytes of `identifier`.
    ///
    /// # Errors
    ///
    /// [`IdentifierError`] naming the fragment and the reason: an integer version other than
    /// `2`, a fragment count other than 5, an empty component, a bad persistence, subject or
    /// type, an invite type that is not `<code>:<target>:<parameters>`, and the forms Onedata
    /// no longer accepts (`rop-<id>` / `ssp-<id>`, the 19.02 layout).
    ///
    /// ```
    /// use macaroon_mint::onedata::{IdentifierErrorKind, OnedataIdentifier, ParsedIdentifier, Segment};
    ///
    /// let legacy = OnedataIdentifier::parse("8HfHARHgklqBkZVI4l6MBTvSSvt98ppp6948s8Q7SOk")?;
    /// assert_eq!(legacy.version(), 1);
    ///
    /// let err = OnedataIdentifier::parse("2/tmp-x/usr-uid/act/id").unwrap_err();
    /// assert_eq!((err.segment, err.offset), (Segment::Persistence, 2));
    /// assert!(matches!(err.kind, IdentifierErrorKind::BadGeneration { .. }));
    /// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
    /// ```
    pub fn parse(identifier: &str) -> Result<ParsedIdentifier, IdentifierError> {
        parse(identifier)
    }

    /// [`OnedataIdentifier::parse`] for the identifier bytes of a macaroon.
    ///
    /// # Errors
    ///
    /// As [`OnedataIdentifier::parse`], and [`IdentifierErrorKind::NotUtf8`] (at the first
    /// invalid byte) for bytes that are not UTF-8 text.
    ///
    /// ```
    /// use macaroon_mint::onedata::{IdentifierErrorKind, OnedataIdentifier};
    ///
    /// let id = OnedataIdentifier::parse_bytes(b"2/nmd/prv-pid/idn/tokenid")?;
    /// assert_eq!(id.version(), 2);
    /// let err = OnedataIdentifier::parse_bytes(b"2/nmd/\xff").unwrap_err();
    /// assert_eq!((err.kind, err.offset), (IdentifierErrorKind::NotUtf8, 6));
    /// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
    /// ```
    pub fn parse_bytes(identifier: &[u8]) -> Result<ParsedIdentifier, IdentifierError> {
        match core::str::from_utf8(identifier) {
            Ok(text) => parse(text),
            Err(e) => Err(IdentifierError::new(
                Segment::Identifier,
                e.valid_up_to(),
                IdentifierErrorKind::NotUtf8,
            )),
        }
    }

    /// Builds an identifier from its parts, checking that its text parses back to it.
    ///
    /// An [`InviteType::Other`] holding a known code is replaced by the named variant.
    ///
    /// # Errors
    ///
    /// An empty subject id, session, invite code, invite target or token id; a `/` in any
    /// component, or a `:` in an invite code, target or parameters; an invite code Onedata would
    /// read as something else (`act`, `rop-…`, `gui-…`). Offsets refer to the identifier text
    /// the parts would make.
    ///
    /// ```
    /// use macaroon_mint::onedata::{OnedataIdentifier, Persistence, Subject, TokenType};
    ///
    /// let id = OnedataIdentifier::new(
    ///     Persistence::Named,
    ///     Subject::Provider("pid".into()),
    ///     TokenType::Identity,
    ///     "1234567890example-id1234567890c",
    /// )?;
    /// assert_eq!(id.to_string(), "2/nmd/prv-pid/idn/1234567890example-id1234567890c");
    /// assert!(OnedataIdentifier::new(Persistence::Named, Subject::Nobody, TokenType::Identity, "a/b").is_err());
    /// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
    /// ```
    pub fn new(
        persistence: Persistence,
        subject: Subject,
        token_type: TokenType,
        id: impl Into<String>,
    ) -> Result<OnedataIdentifier, IdentifierError> {
        let token_type = match token_type {
            TokenType::Invite {
                invite: InviteType::Other(code),
                target,
                parameters,
            } => TokenType::Invite {
                invite: InviteType::from_code(&code),
                target,
                parameters,
            },
            other => other,
        };
        let built = OnedataIdentifier {
            persistence,
            subject,
            token_type,
            id: id.into(),
        };
        built.check_components()?;
        let text = built.to_string();
        match parse(&text)? {
            ParsedIdentifier::V2(parsed) if parsed == built => Ok(built),
            // Only an invite code that reads as another type gets here (e.g. `act:…`).
            _ => Err(IdentifierError::new(
                Segment::InviteCode,
                type_offset(&built),
                IdentifierErrorKind::ReservedInviteCode {
                    code: match &built.token_type {
                        TokenType::Invite { invite, .. } => invite.code().to_owned(),
                        other => other.to_string(),
                    },
                },
            )),
        }
    }

    /// A provider registration token identifier (`rop`, SPEC §10.5): issued by
    /// `subject_user_id`, registering a Oneprovider whose cluster admin is `admin_user_id`.
    ///
    /// # Errors
    ///
    /// As [`OnedataIdentifier::new`].
    ///
    /// ```
    /// use macaroon_mint::onedata::{OnedataIdentifier, Persistence};
    ///
    /// let id = OnedataIdentifier::provider_registration(
    ///     Persistence::Named,
    ///     "invitation-sender",
    ///     "AdminUserId",
    ///     "1234567890example-id1234567890e",
    /// )?;
    /// assert_eq!(
    ///     id.to_string(),
    ///     "2/nmd/usr-invitation-sender/rop:AdminUserId:/1234567890example-id1234567890e"
    /// );
    /// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
    /// ```
    pub fn provider_registration(
        persistence: Persistence,
        subject_user_id: impl Into<String>,
        admin_user_id: impl Into<String>,
        token_id: impl Into<String>,
    ) -> Result<OnedataIdentifier, IdentifierError> {
        OnedataIdentifier::new(
            persistence,
            Subject::User(subject_user_id.into()),
            TokenType::invite(InviteType::RegisterOneprovider, admin_user_id),
            token_id,
        )
    }

    /// A space support token identifier (`ssp`, SPEC §10.5): lets a Oneprovider support
    /// `space_id`; its parameters are written `ge`.
    ///
    /// # Errors
    ///
    /// As [`OnedataIdentifier::new`].
    ///
    /// ```
    /// use macaroon_mint::onedata::{OnedataIdentifier, Persistence, Subject};
    ///
    /// let id = OnedataIdentifier::space_support(
    ///     Persistence::Named,
    ///     Subject::User("invitation-sender".into()),
    ///     "SpaceId",
    ///     "1234567890example-id1234567890e",
    /// )?;
    /// assert_eq!(
    ///     id.to_string(),
    ///     "2/nmd/usr-invitation-sender/ssp:SpaceId:ge/1234567890example-id1234567890e"
    /// );
    /// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
    /// ```
    pub fn space_support(
        persistence: Persistence,
        subject: Subject,
        space_id: impl Into<String>,
        token_id: impl Into<String>,
    ) -> Result<OnedataIdentifier, IdentifierError> {
        OnedataIdentifier::new(
            persistence,
            subject,
            TokenType::invite(InviteType::SupportSpace, space_id),
            token_id,
        )
    }

    /// The identifier version: always 2.
    ///
    /// ```
    /// use macaroon_mint::onedata::{OnedataIdentifier, Persistence};
    ///
    /// let id = OnedataIdentifier::provider_registration(Persistence::Named, "u", "a", "t")?;
    /// assert_eq!(id.version(), 2);
    /// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
    /// ```
    pub fn version(&self) -> u32 {
        VERSION
    }

    /// Named or temporary (with its generation).
    ///
    /// ```
    /// use macaroon_mint::onedata::{OnedataIdentifier, Persistence};
    ///
    /// let tmp = Persistence::Temporary { generation: 3 };
    /// let id = OnedataIdentifier::provider_registration(tmp, "u", "a", "t")?;
    /// assert_eq!(id.persistence(), tmp);
    /// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
    /// ```
    pub fn persistence(&self) -> Persistence {
        self.persistence
    }

    /// The subject the token was issued to (or by, for invites).
    ///
    /// ```
    /// use macaroon_mint::onedata::{OnedataIdentifier, Persistence, Subject};
    ///
    /// let id = OnedataIdentifier::provider_registration(Persistence::Named, "u", "a", "t")?;
    /// assert_eq!(id.subject(), &Subject::User("u".into()));
    /// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
    /// ```
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The token type.
    ///
    /// ```
    /// use macaroon_mint::onedata::{InviteType, OnedataIdentifier, Persistence, TokenType};
    ///
    /// let id = OnedataIdentifier::provider_registration(Persistence::Named, "u", "a", "t")?;
    /// assert_eq!(id.token_type(), &TokenType::invite(InviteType::RegisterOneprovider, "a"));
    /// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
    /// ```
    pub fn token_type(&self) -> &TokenType {
        &self.token_type
    }

    /// The token id (the server's key for the token record or, for temporary tokens, a unique id).
    ///
    /// ```
    /// use macaroon_mint::onedata::{OnedataIdentifier, Persistence};
    ///
    /// let id = OnedataIdentifier::provider_registration(Persistence::Named, "u", "a", "t")?;
    /// assert_eq!(id.id(), "t");
    /// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The invite type, or `None` when this is not an invite token.
    ///
    /// ```
    /// use macaroon_mint::onedata::{InviteType, OnedataIdentifier, Persistence, Subject};
    ///
    /// let id = OnedataIdentifier::space_support(Persistence::Named, Subject::Nobody, "s", "t")?;
    /// assert_eq!(id.invite_kind(), Some(&InviteType::SupportSpace));
    /// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
    /// ```
    pub fn invite_kind(&self) -> Option<&InviteType> {
        match &self.token_type {
            TokenType::Invite { invite, .. } => Some(invite),
            _ => None,
        }
    }

    /// The invite target (space, group, admin user, …), or `None` when this is not an invite.
    ///
    /// ```
    /// use macaroon_mint::onedata::{OnedataIdentifier, Persistence, Subject};
    ///
    /// let id = OnedataIdentifier::space_support(Persistence::Named, Subject::Nobody, "s", "t")?;
    /// assert_eq!(id.invite_target(), Some("s"));
    /// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
    /// ```
    pub fn invite_target(&self) -> Option<&str> {
        match &self.token_type {
            TokenType::Invite { target, .. } => Some(target),
            _ => None,
        }
    }

    /// Checks the free-text components before the text is built, for errors that say which
    /// component is wrong rather than what the resulting text looks like.
    fn check_components(&self) -> Result<(), IdentifierError> {
        // Offsets of each fragment in the text these parts make.
        let persistence_at = 2;
        let subject_at = persistence_at + self.persistence.to_string().len() + 1;
        let type_at = type_offset(self);
        let id_at = type_at + self.token_type.to_string().len() + 1;

        let subject_id_at = subject_at + 4;
        if let Some(id) = self.subject.id() {
            forbid(id, &['/'], Segment::Subject, subject_id_at)?;
        }
        match &self.token_type {
            TokenType::Access {
                session: Some(session),
            } => forbid(session, &['/'], Segment::Session, type_at + 4)?,
            TokenType::Invite {
                invite,
                target,
                parameters,
            } => {
                let code = invite.code();
                forbid(code, &['/', ':'], Segment::InviteCode, type_at)?;
                let target_at = type_at + code.len() + 1;
                forbid(target, &['/', ':'], Segment::InviteTarget, target_at)?;
                let parameters_at = target_at + target.len() + 1;
                forbid(
                    parameters,
                    &['/', ':'],
                    Segment::InviteParameters,
                    parameters_at,
                )?;
            }
            _ => {}
        }
        forbid(&self.id, &['/'], Segment::Id, id_at)
    }
}

/// Byte offset of the type fragment in the text of `id`.
fn type_offset(id: &OnedataIdentifier) -> usize {
    2 + id.persistence.to_string().len() + 1 + id.subject.to_string().len() + 1
}

/// Fails with [`IdentifierErrorKind::ForbiddenCharacter`] at the first of `chars` in `text`.
fn forbid(text: &str, chars: &[char], segment: Segment, at: usize) -> Result<(), IdentifierError> {
    match text.char_indices().find(|(_, c)| chars.contains(c)) {
        Some((i, ch)) => Err(IdentifierError::new(
            segment,
            at + i,
            IdentifierErrorKind::ForbiddenCharacter { ch },
        )),
        None => Ok(()),
    }
}

impl fmt::Display for OnedataIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{VERSION}/{}/{}/{}/{}",
            self.persistence, self.subject, self.token_type, self.id
        )
    }
}

/// A parsed Onedata token identifier: legacy (version 1) or structured (version 2).
///
/// `Display` writes the identifier text back.
///
/// ```
/// use macaroon_mint::onedata::{ParsedIdentifier, Persistence};
///
/// let legacy: ParsedIdentifier = "vcPiHpi0xfmkVNtJtyCH5SoGm5Z".parse()?;
/// assert!(matches!(&legacy, ParsedIdentifier::Legacy { token_id } if token_id == "vcPiHpi0xfmkVNtJtyCH5SoGm5Z"));
/// assert_eq!(legacy.persistence(), Persistence::Named);
///
/// let current: ParsedIdentifier = "2/nmd/prv-pid/idn/tokenid".parse()?;
/// assert_eq!(current.token_id(), "tokenid");
/// assert_eq!(current.to_string(), "2/nmd/prv-pid/idn/tokenid");
/// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParsedIdentifier {
    /// A version 1 identifier: the whole text is the token id. The token is named and an access
    /// token; its subject is known only to the server.
    Legacy {
        /// The token id (the whole identifier).
        token_id: String,
    },
    /// A version 2 identifier.
    V2(OnedataIdentifier),
}

impl ParsedIdentifier {
    /// The identifier version: 1 for legacy, 2 otherwise.
    ///
    /// ```
    /// use macaroon_mint::onedata::OnedataIdentifier;
    ///
    /// assert_eq!(OnedataIdentifier::parse("abc")?.version(), 1);
    /// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
    /// ```
    pub fn version(&self) -> u32 {
        match self {
            ParsedIdentifier::Legacy { .. } => 1,
            ParsedIdentifier::V2(id) => id.version(),
        }
    }

    /// The token id: the whole legacy identifier, or the last fragment of a version 2 one.
    ///
    /// ```
    /// use macaroon_mint::onedata::OnedataIdentifier;
    ///
    /// assert_eq!(OnedataIdentifier::parse("abc")?.token_id(), "abc");
    /// assert_eq!(OnedataIdentifier::parse("2/nmd/nobody/act/t1")?.token_id(), "t1");
    /// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
    /// ```
    pub fn token_id(&self) -> &str {
        match self {
            ParsedIdentifier::Legacy { token_id } => token_id,
            ParsedIdentifier::V2(id) => id.id(),
        }
    }

    /// The persistence; legacy tokens are named.
    ///
    /// ```
    /// use macaroon_mint::onedata::{OnedataIdentifier, Persistence};
    ///
    /// let id = OnedataIdentifier::parse("2/tmp-1/nobody/act/t1")?;
    /// assert_eq!(id.persistence(), Persistence::Temporary { generation: 1 });
    /// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
    /// ```
    pub fn persistence(&self) -> Persistence {
        match self {
            ParsedIdentifier::Legacy { .. } => Persistence::Named,
            ParsedIdentifier::V2(id) => id.persistence(),
        }
    }

    /// The version 2 identifier, or `None` for a legacy one.
    ///
    /// ```
    /// use macaroon_mint::onedata::OnedataIdentifier;
    ///
    /// assert!(OnedataIdentifier::parse("abc")?.as_v2().is_none());
    /// # Ok::<(), macaroon_mint::onedata::IdentifierError>(())
    /// ```
    pub fn as_v2(&self) -> Option<&OnedataIdentifier> {
        match self {
            ParsedIdentifier::Legacy { .. } => None,
            ParsedIdentifier::V2(id) => Some(id),
        }
    }
}

impl fmt::Display for ParsedIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParsedIdentifier::Legacy { token_id } => f.write_str(token_id),
            ParsedIdentifier::V2(id) => id.fmt(f),
        }
    }
}

impl FromStr for ParsedIdentifier {
    type Err = IdentifierError;

    fn from_str(s: &str) -> Result<ParsedIdentifier, IdentifierError> {
        parse(s)
    }
}

impl From<OnedataIdentifier> for ParsedIdentifier {
    fn from(id: OnedataIdentifier) -> ParsedIdentifier {
        ParsedIdentifier::V2(id)
    }
}

/// The part of an identifier an [`IdentifierError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Segment {
    /// The identifier as a whole (its encoding, its fragment count).
    Identifier,
    /// The version fragment.
    Version,
    /// The persistence fragment (`nmd` / `tmp-<generation>`).
    Persistence,
    /// The subject fragment.
    Subject,
    /// The type fragment.
    Type,
    /// The session id of an access token (`act:<sessionId>`).
    Session,
    /// The code of an invite type.
    InviteCode,
    /// The target entity id of an invite type.
    InviteTarget,
    /// The parameters of an invite type.
    InviteParameters,
    /// The token id fragment.
    Id,
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Segment::Identifier => "identifier",
            Segment::Version => "version",
            Segment::Persistence => "persistence",
            Segment::Subject => "subject",
            Segment::Type => "type",
            Segment::Session => "session id",
            Segment::InviteCode => "invite code",
            Segment::InviteTarget => "invite target",
            Segment::InviteParameters => "invite parameters",
            Segment::Id => "token id",
        })
    }
}

/// A Onedata token identifier that cannot be read or built (SPEC §10.2).
///
/// `offset` is the byte of the identifier text where `segment` (or, for a bad character, the
/// character) starts. `Display` gives the layer `onedata-identifier`, the segment, the offset and
/// the reason.
///
/// ```
/// use macaroon_mint::onedata::{IdentifierErrorKind, OnedataIdentifier, Segment};
///
/// let err = OnedataIdentifier::parse("2/nmd/usr-uid/rop-AdminUserId/id").unwrap_err();
/// assert_eq!((err.segment, err.offset), (Segment::Type, 14));
/// assert_eq!(err.kind, IdentifierErrorKind::DashInviteForm { found: "rop-AdminUserId".into() });
/// assert_eq!(
///     err.to_string(),
///     "onedata-identifier: type at byte 14: \"rop-AdminUserId\" is the withdrawn dash form of an \
///      invite type (Oct 2019 - Feb 2020 development builds); write \"rop:<id>:<parameters>\""
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("onedata-identifier: {segment} at byte {offset}: {kind}")]
#[non_exhaustive]
pub struct IdentifierError {
    /// The part of the identifier that is wrong.
    pub segment: Segment,
    /// Byte offset in the identifier text.
    pub offset: usize,
    /// What is wrong.
    pub kind: IdentifierErrorKind,
}

impl IdentifierError {
    fn new(segment: Segment, offset: usize, kind: IdentifierErrorKind) -> IdentifierError {
        IdentifierError {
            segment,
            offset,
            kind,
        }
    }
}

/// The reason an [`IdentifierError`] was raised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentifierErrorKind {
    /// The identifier bytes are not UTF-8 text.
    #[error("the identifier is not UTF-8 text")]
    NotUtf8,
    /// An integer version other than 2 (including `02`, `+2`: only the text `2` is version 2).
    #[error("version \"{}\" is not supported (only 2)", .found.escape_debug())]
    UnsupportedVersion {
        /// The version fragment.
        found: String,
    },
    /// A version 2 identifier that does not split on `/` into exactly 5 fragments.
    #[error("{found} '/'-separated fragments, expected 5 (2/<persistence>/<subject>/<type>/<id>)")]
    FragmentCount {
        /// The number of fragments found.
        found: usize,
    },
    /// A component that must not be empty is empty.
    #[error("must not be empty")]
    Empty,
    /// A persistence that is neither `nmd` nor `tmp-<generation>`.
    #[error(
        "\"{}\" is neither \"nmd\" nor \"tmp-<generation>\"",
        .found.escape_debug()
    )]
    BadPersistence {
        /// The persistence fragment.
        found: String,
    },
    /// A `tmp-` generation that is not a canonical decimal `u64` (digits only, no leading zero).
    #[error(
        "generation \"{}\" is not a decimal integer (digits only, no leading zero, at most 2^64-1)",
        .found.escape_debug()
    )]
    BadGeneration {
        /// The text after `tmp-`.
        found: String,
    },
    /// A subject that is not `usr-<id>`, `prv-<id>`, `grp-<id>` or `nobody`.
    #[error(
        "\"{}\" is not usr-<id>, prv-<id>, grp-<id> or nobody",
        .found.escape_debug()
    )]
    BadSubject {
        /// The subject fragment.
        found: String,
    },
    /// A type that is not `act`, `act:<sessionId>`, `idn` or an invite type.
    #[error(
        "\"{}\" is not act, act:<sessionId>, idn or <inviteCode>:<target>:<parameters>",
        .found.escape_debug()
    )]
    BadType {
        /// The type fragment.
        found: String,
    },
    /// An invite type that does not split on `:` into exactly 3 parts.
    #[error(
        "invite type has {found} ':'-separated part(s), expected 3 (<code>:<target>:<parameters>)"
    )]
    InviteParts {
        /// The number of parts found.
        found: usize,
    },
    /// The withdrawn `rop-<id>` / `ssp-<id>` invite form (ctool `develop`, Oct 2019 – Feb 2020).
    #[error(
        "\"{}\" is the withdrawn dash form of an invite type (Oct 2019 - Feb 2020 development builds); write \"{}:<id>:<parameters>\"",
        .found.escape_debug(),
        .found.get(..3).unwrap_or_default()
    )]
    DashInviteForm {
        /// The type fragment.
        found: String,
    },
    /// The Onedata 19.02 layout: persistence `pst` / `tmp`, or type `gui-<sessionId>`.
    #[error(
        "\"{}\" belongs to the Onedata 19.02 identifier layout, which current Onedata rejects",
        .found.escape_debug()
    )]
    Release1902 {
        /// The persistence or type fragment.
        found: String,
    },
    /// A character a component cannot hold (building only: `/` anywhere, `:` in invite parts).
    #[error("character '{}' is not allowed here", .ch.escape_debug())]
    ForbiddenCharacter {
        /// The character.
        ch: char,
    },
    /// An invite code whose text Onedata would read as another token type (building only).
    #[error("invite code \"{}\" would be read as another token type", .code.escape_debug())]
    ReservedInviteCode {
        /// The code.
        code: String,
    },
}

/// Erlang's `binary_to_integer` syntax: an optional sign and at least one decimal digit.
fn is_integer(text: &str) -> bool {
    let digits = text
        .strip_prefix('+')
        .or_else(|| text.strip_prefix('-'))
        .unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn parse(text: &str) -> Result<ParsedIdentifier, IdentifierError> {
    let version = text.split('/').next().unwrap_or(text);
    if !text.contains('/') || !is_integer(version) {
        if text.is_empty() {
            return Err(IdentifierError::new(
                Segment::Id,
                0,
                IdentifierErrorKind::Empty,
            ));
        }
        return Ok(ParsedIdentifier::Legacy {
            token_id: text.to_owned(),
        });
    }
    if version != "2" {
        return Err(IdentifierError::new(
            Segment::Version,
            0,
            IdentifierErrorKind::UnsupportedVersion {
                found: version.to_owned(),
            },
        ));
    }

    // Each fragment with its byte offset.
    let mut fragments = Vec::with_capacity(5);
    let mut at = 0;
    for fragment in text.split('/') {
        fragments.push((at, fragment));
        at += fragment.len() + 1;
    }
    let &[_, (p_at, p), (s_at, s), (t_at, t), (i_at, i)] = fragments.as_slice() else {
        // Too many: point at the `/` that starts the sixth fragment; too few: at the end.
        let offset = fragments
            .get(5)
            .map_or(text.len(), |(at, _)| at.saturating_sub(1));
        return Err(IdentifierError::new(
            Segment::Identifier,
            offset,
            IdentifierErrorKind::FragmentCount {
                found: fragments.len(),
            },
        ));
    };

    let persistence = parse_persistence(p, p_at)?;
    let subject = parse_subject(s, s_at)?;
    let token_type = parse_type(t, t_at)?;
    if i.is_empty() {
        return Err(IdentifierError::new(
            Segment::Id,
            i_at,
            IdentifierErrorKind::Empty,
        ));
    }
    Ok(ParsedIdentifier::V2(OnedataIdentifier {
        persistence,
        subject,
        token_type,
        id: i.to_owned(),
    }))
}

fn parse_persistence(p: &str, at: usize) -> Result<Persistence, IdentifierError> {
    let err = |kind| Err(IdentifierError::new(Segment::Persistence, at, kind));
    match p {
        "" => err(IdentifierErrorKind::Empty),
        "nmd" => Ok(Persistence::Named),
        "pst" | "tmp" => err(IdentifierErrorKind::Release1902 {
            found: p.to_owned(),
        }),
        _ => match p.strip_prefix("tmp-") {
            Some(g) => match parse_generation(g) {
                Some(generation) => Ok(Persistence::Temporary { generation }),
                None => err(IdentifierErrorKind::BadGeneration {
                    found: g.to_owned(),
                }),
            },
            None => err(IdentifierErrorKind::BadPersistence {
                found: p.to_owned(),
            }),
        },
    }
}

/// A canonical decimal `u64`: digits only, no leading zero (except `0` itself).
fn parse_generation(g: &str) -> Option<u64> {
    let canonical =
        !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()) && (g == "0" || !g.starts_with('0'));
    if canonical {
        g.parse().ok()
    } else {
        None
    }
}

fn parse_subject(s: &str, at: usize) -> Result<Subject, IdentifierError> {
    if s == "nobody" {
        return Ok(Subject::Nobody);
    }
    if s.is_empty() {
        return Err(IdentifierError::new(
            Segment::Subject,
            at,
            IdentifierErrorKind::Empty,
        ));
    }
    type MakeSubject = fn(String) -> Subject;
    let kinds: [(&str, MakeSubject); 3] = [
        ("usr-", Subject::User),
        ("prv-", Subject::Provider),
        ("grp-", Subject::Group),
    ];
    for (prefix, make) in kinds {
        if let Some(id) = s.strip_prefix(prefix) {
            if id.is_empty() {
                return Err(IdentifierError::new(
                    Segment::Subject,
                    at + prefix.len(),
                    IdentifierErrorKind::Empty,
                ));
            }
            return Ok(make(id.to_owned()));
        }
    }
    Err(IdentifierError::new(
        Segment::Subject,
        at,
        IdentifierErrorKind::BadSubject {
            found: s.to_owned(),
        },
    ))
}

fn parse_type(t: &str, at: usize) -> Result<TokenType, IdentifierError> {
    let err = |segment, at, kind| Err(IdentifierError::new(segment, at, kind));
    match t {
        "" => return err(Segment::Type, at, IdentifierErrorKind::Empty),
        "act" => return Ok(TokenType::Access { session: None }),
        "idn" => return Ok(TokenType::Identity),
        _ => {}
    }
    if let Some(session) = t.strip_prefix("act:") {
        if session.is_empty() {
            return err(Segment::Session, at + 4, IdentifierErrorKind::Empty);
        }
        return Ok(TokenType::Access {
            session: Some(session.to_owned()),
        });
    }
    if t.starts_with("gui-") {
        let found = t.to_owned();
        return err(
            Segment::Type,
            at,
            IdentifierErrorKind::Release1902 { found },
        );
    }
    if t.starts_with("rop-") || t.starts_with("ssp-") {
        let found = t.to_owned();
        return err(
            Segment::Type,
            at,
            IdentifierErrorKind::DashInviteForm { found },
        );
    }

    let parts: Vec<&str> = t.split(':').collect();
    let &[code, target, parameters] = parts.as_slice() else {
        // Text without `:` is an invite only if it is a known code missing its parts.
        if parts.len() == 1 && !InviteType::from_code(t).is_known() {
            let found = t.to_owned();
            return err(Segment::Type, at, IdentifierErrorKind::BadType { found });
        }
        let found = parts.len();
        return err(
            Segment::Type,
            at,
            IdentifierErrorKind::InviteParts { found },
        );
    };
    if code.is_empty() {
        return err(Segment::InviteCode, at, IdentifierErrorKind::Empty);
    }
    if target.is_empty() {
        let target_at = at + code.len() + 1;
        return err(Segment::InviteTarget, target_at, IdentifierErrorKind::Empty);
    }
    Ok(TokenType::Invite {
        invite: InviteType::from_code(code),
        target: target.to_owned(),
        parameters: parameters.to_owned(),
    })
}
