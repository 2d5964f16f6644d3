//! The gate every service passes before it acts: the caller's standing in the account concerned
//! (one strongly consistent read of the membership; none for an operator), then the policy,
//! [`channel_domain::access::decide`].

use crate::ports::{AccountStore, Members, StoreError};
use channel_domain::access::{decide, standing, Action, Caller, Decision, Standing};
use channel_domain::ids::AccountId;

/// Why the gate refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The role does not allow it.
    #[error("your role does not allow this")]
    Forbidden,
    /// Outside the caller's accounts: as if it did not exist.
    #[error("not found")]
    Hidden,
    /// Another agent holds the conversation.
    #[error("the conversation is assigned to {0}")]
    HeldBy(String),
    /// The membership could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The caller's standing in an account: operator without a read; otherwise the membership,
/// read strongly consistent (a removed member loses access at once).
pub async fn standing_in<M: Members>(
    members: &M,
    caller: &Caller,
    account_id: &AccountId,
) -> Result<Standing, StoreError> {
    if caller.is_operator() || caller.highest().is_none() {
        return Ok(standing(caller, None));
    }
    let member = members.member(account_id, &caller.user_id).await?;
    Ok(standing(caller, member.map(|m| m.role)))
}

/// Asks the policy about an action in an account; the caller's standing when it is allowed.
pub async fn admit<M: Members>(
    members: &M,
    caller: &Caller,
    account_id: &AccountId,
    action: Action<'_>,
) -> Result<Standing, Refusal> {
    let standing = standing_in(members, caller, account_id).await?;
    check(caller, standing, action).map(|()| standing)
}

/// As [`admit`], for a read that answers nothing when the account does not exist: an operator
/// (whose standing needs no membership) is told the account is not there (1 GetItem of the
/// account, operators only), as a member's read of a gone account is.
pub async fn admit_existing<M: Members + AccountStore>(
    members: &M,
    caller: &Caller,
    account_id: &AccountId,
    action: Action<'_>,
) -> Result<Standing, Refusal> {
    let standing = admit(members, caller, account_id, action).await?;
    if standing == Standing::Operator && members.account(account_id).await?.is_none() {
        return Err(Refusal::Hidden);
    }
    Ok(standing)
}

/// The policy's answer for a standing already read.
pub fn check(caller: &Caller, standing: Standing, action: Action<'_>) -> Result<(), Refusal> {
    match decide(caller, standing, action) {
        Decision::Allow => Ok(()),
        Decision::Forbid => Err(Refusal::Forbidden),
        Decision::Hide => Err(Refusal::Hidden),
        Decision::HeldBy(h) => Err(Refusal::HeldBy(h)),
    }
}

/// Asks whether the caller's roles allow an action at all, before the account it concerns is
/// known (a route their roles never allow is forbidden before it is asked anything else).
pub fn admit_route(caller: &Caller, action: Action<'_>) -> Result<(), Refusal> {
    if channel_domain::access::role_allows(caller, action) {
        Ok(())
    } else {
        Err(Refusal::Forbidden)
    }
}

/// Asks the policy about an action that concerns no account (creating one).
pub fn admit_global(caller: &Caller, action: Action<'_>) -> Result<(), Refusal> {
    let standing = if caller.is_operator() {
        Standing::Operator
    } else {
        Standing::Outsider
    };
    check(caller, standing, action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::fakes::MemoryStore;
    use channel_domain::access::{Role, UserId};

    fn caller(roles: &[Role]) -> Caller {
        Caller {
            user_id: UserId::parse("u-1").unwrap(),
            name: None,
            roles: roles.to_vec(),
        }
    }

    #[test]
    fn a_route_the_roles_never_allow_is_forbidden_before_the_account_is_known() {
        assert_eq!(admit_route(&caller(&[Role::Supervisor]), Action::ReadAudit), Ok(()));
        for roles in [&[Role::Agent][..], &[]] {
            assert_eq!(admit_route(&caller(roles), Action::ReadAudit), Err(Refusal::Forbidden));
        }
    }

    #[test]
    fn only_operators_create_accounts() {
        assert_eq!(admit_global(&caller(&[Role::Operator]), Action::CreateAccount), Ok(()));
        for roles in [&[Role::Supervisor][..], &[Role::Agent], &[]] {
            assert_eq!(
                admit_global(&caller(roles), Action::CreateAccount),
                Err(Refusal::Forbidden)
            );
        }
    }

    #[tokio::test]
    async fn operators_and_tokens_without_a_role_read_no_membership() {
        let store = MemoryStore::default();
        let account = AccountId::new();
        for roles in [&[Role::Operator][..], &[]] {
            standing_in(&store, &caller(roles), &account).await.unwrap();
        }
        assert_eq!(store.read(|s| s.member_reads), 0);
        standing_in(&store, &caller(&[Role::Agent]), &account).await.unwrap();
        assert_eq!(store.read(|s| s.member_reads), 1);
    }
}
