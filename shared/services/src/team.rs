//! The people of the desk: who the caller is (`GET /me`), the members of an account, their
//! canned responses, and the audit trail.

use serde::Serialize;

use crate::access::{admit, admit_existing, Refusal};
use crate::desk::plan_assignment;
use crate::ports::{
    AccountStore, AuditLog, BadCursor, CannedResponses, CannedWrite, Committed, ConversationMoves, Member, Members,
    Page, ReadError, StoreError,
};
use channel_domain::access::{standing, Action, Caller, Role, UserId};
use channel_domain::account::Account;
use channel_domain::audit::{Actor, AuditAction, AuditEntry};
use channel_domain::canned::CannedResponse;
use channel_domain::ids::{AccountId, CannedResponseId, Timestamp};

/// The most members of one page of an account's members (and its default).
pub const MAX_MEMBERS_PAGE: u32 = 100;

/// How often an unassignment that lost a race is tried again.
const UNASSIGN_ATTEMPTS: u32 = 5;

/// The longest display name.
pub const MAX_DISPLAY_NAME: usize = 100;

/// Why a request about members or the audit trail was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeamError {
    /// No such account (or not one of the caller's).
    #[error("no messaging account has this id")]
    AccountNotFound,
    /// The caller's role does not allow it.
    #[error("your role does not allow this")]
    Forbidden,
    /// A member's role must be agent or supervisor.
    #[error("a member's role is agent or supervisor")]
    InvalidRole,
    /// A display name that is blank or too long.
    #[error("display_name is 1 to {MAX_DISPLAY_NAME} characters")]
    InvalidDisplayName,
    /// A canned response's title or text refused.
    #[error(transparent)]
    InvalidCanned(#[from] channel_domain::canned::CannedError),
    /// The account keeps the most canned responses it may.
    #[error(
        "an account keeps at most {} canned responses: delete one first",
        channel_domain::canned::MAX_PER_ACCOUNT
    )]
    TooManyCanned,
    /// No such canned response in the account.
    #[error("no canned response of this account has this id")]
    CannedNotFound,
    /// A cursor this API did not give out.
    #[error(transparent)]
    Cursor(#[from] BadCursor),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Refusal> for TeamError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Forbidden => Self::Forbidden,
            Refusal::Hidden | Refusal::HeldBy(_) => Self::AccountNotFound,
            Refusal::Store(e) => Self::Store(e),
        }
    }
}

impl From<ReadError> for TeamError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Cursor(c) => Self::Cursor(c),
            ReadError::Store(s) => Self::Store(s),
        }
    }
}

/// One of the caller's accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MyAccount {
    /// The account.
    pub account_id: AccountId,
    /// Its name.
    pub name: String,
    /// The caller's role there.
    pub role: Role,
}

/// The caller as the desk sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Me {
    /// `sub`.
    pub user_id: UserId,
    /// The token's name, else the display name a membership gives, else the user id.
    pub name: String,
    /// The token's roles.
    pub roles: Vec<Role>,
    /// The accounts the caller works in.
    pub accounts: Vec<MyAccount>,
}

/// An account the caller works in.
#[derive(Debug, Clone, PartialEq)]
pub struct Seat {
    /// The account.
    pub account: Account,
    /// The role the caller works as there.
    pub role: Role,
    /// The name their membership gives them, if any.
    pub display_name: Option<String>,
}

/// The team service.
#[derive(Debug)]
pub struct Team<S> {
    /// Members, accounts, conversations and the trail.
    pub store: S,
}

impl<S: Members + AuditLog + AccountStore + ConversationMoves> Team<S> {
    /// The accounts a caller works in, with the role they work as there: every account for an
    /// operator (1 Query); otherwise their memberships (1 Query of the index, which may lag a
    /// change, so each is read again strongly consistent, with its account: 2 GetItem each).
    pub async fn seats(&self, caller: &Caller) -> Result<Vec<Seat>, TeamError> {
        if caller.is_operator() {
            let all = self.store.accounts().await?;
            return Ok(all
                .into_iter()
                .map(|account| Seat {
                    account,
                    role: Role::Operator,
                    display_name: None,
                })
                .collect());
        }
        let mut seats = Vec::new();
        if caller.highest().is_none() {
            return Ok(seats);
        }
        for listed in self.store.memberships(&caller.user_id).await? {
            let Some(m) = self.store.member(&listed.account_id, &caller.user_id).await? else {
                continue;
            };
            let Some(role) = standing(caller, Some(m.role)).role() else {
                continue;
            };
            if let Some(account) = self.store.account(&m.account_id).await? {
                seats.push(Seat {
                    account,
                    role,
                    display_name: m.display_name,
                });
            }
        }
        Ok(seats)
    }

    /// The caller: who they are and the accounts they work in.
    pub async fn me(&self, caller: &Caller) -> Result<Me, TeamError> {
        let seats = self.seats(caller).await?;
        let member_name = seats.iter().find_map(|s| s.display_name.clone());
        Ok(Me {
            user_id: caller.user_id.clone(),
            name: caller
                .name
                .clone()
                .or(member_name)
                .unwrap_or_else(|| caller.user_id.to_string()),
            roles: caller.roles.clone(),
            accounts: seats
                .into_iter()
                .map(|s| MyAccount {
                    account_id: s.account.account_id,
                    name: s.account.name,
                    role: s.role,
                })
                .collect(),
        })
    }

    /// A page of an account's members, by user id (at most [`MAX_MEMBERS_PAGE`]).
    pub async fn members(
        &self,
        caller: &Caller,
        account_id: &AccountId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Member>, TeamError> {
        admit_existing(&self.store, caller, account_id, Action::ReadMembers).await?;
        Ok(self
            .store
            .members(account_id, limit.clamp(1, MAX_MEMBERS_PAGE), cursor)
            .await?)
    }

    /// Adds a member, or changes their role or name.
    pub async fn put_member(
        &self,
        caller: &Caller,
        account_id: &AccountId,
        user_id: UserId,
        role: Role,
        display_name: Option<String>,
    ) -> Result<Member, TeamError> {
        admit(&self.store, caller, account_id, Action::ConfigureAccount).await?;
        if role == Role::Operator {
            return Err(TeamError::InvalidRole);
        }
        let display_name = display_name.map(|n| n.trim().to_owned());
        if display_name
            .as_ref()
            .is_some_and(|n| n.is_empty() || n.chars().count() > MAX_DISPLAY_NAME)
        {
            return Err(TeamError::InvalidDisplayName);
        }
        let member = Member {
            account_id: account_id.clone(),
            user_id,
            role,
            display_name,
            added_at: Timestamp::now(),
        };
        let audit = AuditEntry::new(
            &Actor::of(caller),
            AuditAction::MemberChanged,
            account_id,
            member.user_id.as_str(),
        )
        .with("role", role.as_str());
        match self.store.put_member(&member, &audit).await? {
            Committed::Done => {
                tracing::info!(account_id = %account_id, user_id = %member.user_id, role = role.as_str(), "member set");
                Ok(member)
            }
            Committed::Lost => Err(TeamError::AccountNotFound),
        }
    }

    /// Removes a member (if they are one) and lets go of every conversation they hold there;
    /// the number let go. Safe to repeat: a repeat finishes what an interrupted one left.
    pub async fn remove_member(
        &self,
        caller: &Caller,
        account_id: &AccountId,
        user_id: &UserId,
    ) -> Result<usize, TeamError> {
        admit(&self.store, caller, account_id, Action::ConfigureAccount).await?;
        let audit = AuditEntry::new(
            &Actor::of(caller),
            AuditAction::MemberRemoved,
            account_id,
            user_id.as_str(),
        );
        if self.store.remove_member(account_id, user_id, &audit).await? {
            tracing::info!(account_id = %account_id, user_id = %user_id, "member removed");
        } else if self.store.account(account_id).await?.is_none() {
            return Err(TeamError::AccountNotFound);
        }
        let mut released = 0;
        for held in self.store.held_by(account_id, user_id).await? {
            released += usize::from(self.release(caller, held, user_id).await?);
        }
        Ok(released)
    }

    /// Unassigns one conversation while `user_id` still holds it.
    async fn release(
        &self,
        caller: &Caller,
        id: channel_domain::ids::ConversationId,
        user_id: &UserId,
    ) -> Result<bool, TeamError> {
        for attempt in 1..=UNASSIGN_ATTEMPTS {
            let Some(current) = self.store.conversation(&id).await? else {
                return Ok(false);
            };
            if current.assigned_agent.as_deref() != Some(user_id.as_str())
                || current.status == channel_domain::conversation::Status::Closed
            {
                return Ok(false);
            }
            if crate::desk::moved(&self.store, &plan_assignment(&current, caller, None), attempt).await? {
                return Ok(true);
            }
        }
        Err(StoreError::Unavailable("the conversation kept changing while it was let go".into()).into())
    }

    /// An account's audit trail, newest first (operators and its supervisors).
    pub async fn audit(
        &self,
        caller: &Caller,
        account_id: &AccountId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>, TeamError> {
        admit(&self.store, caller, account_id, Action::ReadAudit).await?;
        Ok(self.store.audit(account_id, limit, cursor).await?)
    }
}

impl<S: CannedResponses + Members + AccountStore> Team<S> {
    /// A page of an account's canned responses, by title (every member): `limit` (at most
    /// [`channel_domain::canned::MAX_PAGE`]) after `cursor`.
    pub async fn canned_responses(
        &self,
        caller: &Caller,
        account_id: &AccountId,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<CannedResponse>, TeamError> {
        admit_existing(&self.store, caller, account_id, Action::ReadCannedResponses).await?;
        let all = channel_domain::canned::sorted(self.store.canned_responses(account_id).await?);
        let limit = limit.clamp(1, channel_domain::canned::MAX_PAGE);
        let (items, next_cursor) =
            channel_domain::canned::page(all, limit, cursor).ok_or(TeamError::Cursor(BadCursor))?;
        Ok(Page { items, next_cursor })
    }

    /// Writes a new canned response (supervisors, operators), audited with its title.
    pub async fn create_canned_response(
        &self,
        caller: &Caller,
        account_id: &AccountId,
        title: &str,
        text: &str,
    ) -> Result<CannedResponse, TeamError> {
        admit(&self.store, caller, account_id, Action::ManageCannedResponses).await?;
        let (title, text) = channel_domain::canned::validated(title, text)?;
        let now = Timestamp::now();
        let response = CannedResponse {
            canned_response_id: CannedResponseId::new(),
            account_id: account_id.clone(),
            title,
            text,
            created_at: now,
            updated_at: now,
        };
        let audit = canned_entry(caller, AuditAction::CannedResponseChanged, &response);
        match self.store.put_canned_response(&response, true, &audit).await? {
            CannedWrite::Done => Ok(response),
            CannedWrite::Missing => Err(TeamError::AccountNotFound),
            CannedWrite::Full => Err(TeamError::TooManyCanned),
        }
    }

    /// Changes a canned response's title and text (supervisors, operators).
    pub async fn change_canned_response(
        &self,
        caller: &Caller,
        account_id: &AccountId,
        id: &CannedResponseId,
        title: &str,
        text: &str,
    ) -> Result<CannedResponse, TeamError> {
        admit(&self.store, caller, account_id, Action::ManageCannedResponses).await?;
        let (title, text) = channel_domain::canned::validated(title, text)?;
        let current = self
            .store
            .canned_response(account_id, id)
            .await?
            .ok_or(TeamError::CannedNotFound)?;
        let response = CannedResponse {
            title,
            text,
            updated_at: Timestamp::now(),
            ..current
        };
        let audit = canned_entry(caller, AuditAction::CannedResponseChanged, &response);
        match self.store.put_canned_response(&response, false, &audit).await? {
            CannedWrite::Done => Ok(response),
            CannedWrite::Missing | CannedWrite::Full => Err(TeamError::CannedNotFound),
        }
    }

    /// Deletes a canned response (supervisors, operators).
    pub async fn delete_canned_response(
        &self,
        caller: &Caller,
        account_id: &AccountId,
        id: &CannedResponseId,
    ) -> Result<(), TeamError> {
        admit(&self.store, caller, account_id, Action::ManageCannedResponses).await?;
        let audit = AuditEntry::new(
            &Actor::of(caller),
            AuditAction::CannedResponseDeleted,
            account_id,
            id.as_str(),
        );
        if self.store.delete_canned_response(account_id, id, &audit).await? {
            Ok(())
        } else {
            Err(TeamError::CannedNotFound)
        }
    }
}

/// The entry of a canned response written: its id and title (never its text).
fn canned_entry(caller: &Caller, action: AuditAction, r: &CannedResponse) -> AuditEntry {
    AuditEntry::new(&Actor::of(caller), action, &r.account_id, r.canned_response_id.as_str())
        .with("title", r.title.as_str())
}
