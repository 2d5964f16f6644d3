//! Who may do what: the caller a verified token names, the standing the caller has in an
//! account, and [`decide`], the one policy every function asks (deny unless it allows).
//!
//! The policy is pure: the caller's token roles, the caller's membership of the account
//! concerned (read by the service) and, for a conversation, who holds it. It answers allow,
//! forbid (403), hide (404: an account or conversation outside the caller's accounts does not
//! exist for the caller) or "held by another" (409 `assigned_to_other`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest user id (a token's `sub`) taken.
pub const MAX_USER_ID: usize = 128;

/// A role a token's groups claim can hold, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works the conversations of the accounts where they are a member.
    Agent,
    /// Runs the desk of the accounts where they are a member.
    Supervisor,
    /// Configures the channel: every account, every route.
    Operator,
}

impl Role {
    /// The role's name in tokens and answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Supervisor => "supervisor",
            Self::Operator => "operator",
        }
    }

    /// The role a name stands for (exact, lower case).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "agent" => Some(Self::Agent),
            "supervisor" => Some(Self::Supervisor),
            "operator" => Some(Self::Operator),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user id: a token's `sub`, not empty, at most [`MAX_USER_ID`] characters, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

/// A user id that is empty, too long or holds control characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a user id is 1 to {MAX_USER_ID} characters, without control characters")]
pub struct BadUserId;

impl UserId {
    /// Checks a user id.
    pub fn parse(text: &str) -> Result<Self, BadUserId> {
        let count = text.chars().count();
        if count == 0 || count > MAX_USER_ID || text.chars().any(char::is_control) || text.trim() != text {
            return Err(BadUserId);
        }
        Ok(Self(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user id reads as the text it is (it is only ever checked text).
impl std::ops::Deref for UserId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The caller of a request, from the claims of the token the authorizer verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `sub`.
    pub user_id: UserId,
    /// `name`, else `email`, when the token has one.
    pub name: Option<String>,
    /// The channel's roles among the token's groups (others ignored), lowest first.
    pub roles: Vec<Role>,
}

impl Caller {
    /// Whether the token holds `operator`.
    pub fn is_operator(&self) -> bool {
        self.roles.contains(&Role::Operator)
    }

    /// The highest role the token holds.
    pub fn highest(&self) -> Option<Role> {
        self.roles.iter().copied().max()
    }
}

/// Whether a verified token is for `audience`: its `aud` (a string or a list) names it, or,
/// without `aud`, its `client_id` does (as API Gateway's JWT authorizer reads Cognito's access
/// tokens).
pub fn audience_matches(claims: &serde_json::Map<String, serde_json::Value>, audience: &str) -> bool {
    use serde_json::Value;
    match claims.get("aud") {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
        Some(_) => false,
        None => claims.get("client_id").and_then(Value::as_str) == Some(audience),
    }
}

/// A claim's value as API Gateway passes it to a function: strings as they are, arrays as
/// `[a b]`, anything else as its JSON text.
pub fn claim_text(v: serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) => s,
        Value::Array(items) => {
            let parts: Vec<String> = items.into_iter().map(claim_text).collect();
            format!("[{}]", parts.join(" "))
        }
        other => other.to_string(),
    }
}

/// The roles a groups claim holds, as API Gateway hands claims to a function: a JSON array
/// (`["agent","x"]`), API Gateway's flattening of an array (`[agent x]`), a comma- or
/// space-separated list, or one name. Names that are not roles are ignored.
pub fn roles_of_claim(claim: &str) -> Vec<Role> {
    let claim = claim.trim();
    let names: Vec<String> = match serde_json::from_str::<Vec<String>>(claim) {
        Ok(list) => list,
        Err(_) => claim
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(|c: char| c == ',' || c.is_whitespace())
            .map(|n| n.trim_matches('"').to_owned())
            .collect(),
    };
    let mut roles: Vec<Role> = names.iter().filter_map(|n| Role::parse(n)).collect();
    roles.sort();
    roles.dedup();
    roles
}

/// Where the caller stands in one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Standing {
    /// Not a member (or a token without a role that membership could use): the account does
    /// not exist for the caller.
    Outsider,
    /// A member working as an agent.
    Agent,
    /// A member working as a supervisor.
    Supervisor,
    /// An operator (every account).
    Operator,
}

impl Standing {
    /// The role the standing works as; none for an outsider.
    pub fn role(self) -> Option<Role> {
        match self {
            Self::Outsider => None,
            Self::Agent => Some(Role::Agent),
            Self::Supervisor => Some(Role::Supervisor),
            Self::Operator => Some(Role::Operator),
        }
    }
}

/// The caller's standing in an account: an operator token stands as operator everywhere;
/// otherwise the member's role, never above the highest role the token holds (a member record
/// cannot lift a token), and an outsider without a membership or without any role.
pub fn standing(caller: &Caller, membership: Option<Role>) -> Standing {
    if caller.is_operator() {
        return Standing::Operator;
    }
    let (Some(member), Some(ceiling)) = (membership, caller.highest()) else {
        return Standing::Outsider;
    };
    match member.min(ceiling) {
        Role::Agent => Standing::Agent,
        Role::Supervisor | Role::Operator => Standing::Supervisor,
    }
}

/// What a request asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Create an account, or validate credentials that belong to no account yet.
    CreateAccount,
    /// Read an account (its numbers, never its key).
    ReadAccount,
    /// Change an account: its key, numbers, settings, members; validate its stored key.
    ConfigureAccount,
    /// Export or erase what the account holds of one customer (their conversations, messages,
    /// consent): the operators' duty under the GDPR, never a desk's.
    CustomerData,
    /// Read an account's members (an agent transfers to one of them).
    ReadMembers,
    /// Read an account's canned responses.
    ReadCannedResponses,
    /// Write, change and delete an account's canned responses.
    ManageCannedResponses,
    /// Read an account's audit trail.
    ReadAudit,
    /// List and read an account's conversations.
    ReadConversations,
    /// Text a customer first (a business-initiated message).
    StartConversation,
    /// Work a conversation: reply, accept, close, end, write a note. `holder`: who holds it.
    Work {
        /// The agent it is assigned to, if any.
        holder: Option<&'a str>,
    },
    /// Assign a conversation held by `holder` to `to` (`None`: nobody).
    Assign {
        /// Who holds it now.
        holder: Option<&'a str>,
        /// Who is to hold it.
        to: Option<&'a str>,
    },
}

/// The policy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// The role does not allow it (403 `forbidden`).
    Forbid,
    /// Outside the caller's accounts: answered as if it did not exist (404).
    Hide,
    /// An agent's move on a conversation another agent holds (409 `assigned_to_other`).
    HeldBy(String),
}

/// The least role whose holders may ask for an action at all (in some account).
pub fn least_role(action: Action<'_>) -> Role {
    match action {
        Action::CreateAccount | Action::ConfigureAccount | Action::CustomerData => Role::Operator,
        Action::ReadAudit | Action::StartConversation | Action::ManageCannedResponses => Role::Supervisor,
        Action::ReadAccount
        | Action::ReadConversations
        | Action::ReadMembers
        | Action::ReadCannedResponses
        | Action::Work { .. }
        | Action::Assign { .. } => Role::Agent,
    }
}

/// Whether the caller's roles allow an action in some account (else it is forbidden wherever
/// it is asked).
pub fn role_allows(caller: &Caller, action: Action<'_>) -> bool {
    caller.highest().is_some_and(|role| role >= least_role(action))
}

/// The one policy: what `caller`, standing as `standing` in the account concerned, may do.
/// Deny unless a rule below allows. A route the caller's roles never allow is forbidden (403)
/// whatever the account; one they allow is hidden (404) in an account outside theirs.
pub fn decide(caller: &Caller, standing: Standing, action: Action<'_>) -> Decision {
    use Action as A;
    use Standing as S;
    let me = caller.user_id.as_str();
    if standing == S::Operator {
        return Decision::Allow;
    }
    if !role_allows(caller, action) {
        return Decision::Forbid;
    }
    match (standing, action) {
        (S::Operator, _) => Decision::Allow,
        // Creating an account concerns no account: only operators, and no one else sees it.
        (_, A::CreateAccount) => Decision::Forbid,
        (S::Outsider, _) => Decision::Hide,
        (_, A::ReadAccount | A::ReadConversations | A::ReadMembers | A::ReadCannedResponses) => Decision::Allow,
        (_, A::ConfigureAccount | A::CustomerData) => Decision::Forbid,
        (
            S::Supervisor,
            A::ReadAudit | A::StartConversation | A::ManageCannedResponses | A::Work { .. } | A::Assign { .. },
        ) => Decision::Allow,
        (S::Agent, A::Work { holder }) => agent_on(holder, me),
        (S::Agent, A::Assign { holder, to }) => match (holder, to) {
            (Some(h), _) if h != me => Decision::HeldBy(h.to_owned()),
            // Their own conversation: transfer it to a member, or let it go.
            (Some(_), _) => Decision::Allow,
            // An unassigned one: take it, as accepting does.
            (None, Some(t)) if t == me => Decision::Allow,
            (None, _) => Decision::Forbid,
        },
        (S::Agent, A::ReadAudit | A::StartConversation | A::ManageCannedResponses) => Decision::Forbid,
    }
}

/// An agent works a conversation that is unassigned or theirs.
fn agent_on(holder: Option<&str>, me: &str) -> Decision {
    match holder {
        Some(h) if h != me => Decision::HeldBy(h.to_owned()),
        _ => Decision::Allow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(id: &str, roles: &[Role]) -> Caller {
        Caller {
            user_id: UserId::parse(id).unwrap(),
            name: None,
            roles: roles.to_vec(),
        }
    }

    /// Every standing × every action, written out: the policy is this table.
    #[test]
    fn the_whole_policy_as_a_table() {
        use Decision::{Allow as A, Forbid as F, Hide as H};
        let me = caller("me", &[Role::Agent, Role::Supervisor, Role::Operator]);
        let actions = [
            Action::CreateAccount,
            Action::ReadAccount,
            Action::ConfigureAccount,
            Action::ReadMembers,
            Action::ReadAudit,
            Action::ReadConversations,
            Action::StartConversation,
            Action::Work { holder: None },
            Action::Assign { holder: None, to: None },
            Action::CustomerData,
            Action::ReadCannedResponses,
            Action::ManageCannedResponses,
        ];
        let table = [
            (Standing::Operator, [A, A, A, A, A, A, A, A, A, A, A, A]),
            (Standing::Supervisor, [F, A, F, A, A, A, A, A, A, F, A, A]),
            (Standing::Agent, [F, A, F, A, F, A, F, A, F, F, A, F]),
            (Standing::Outsider, [F, H, H, H, H, H, H, H, H, H, H, H]),
        ];
        for (standing, expected) in table {
            for (action, want) in actions.iter().zip(expected) {
                assert_eq!(decide(&me, standing, *action), want, "{standing:?} {action:?}");
            }
        }
    }

    #[test]
    fn a_token_with_several_roles_stands_by_its_highest_and_an_operator_needs_no_membership() {
        let both = caller("b", &[Role::Agent, Role::Supervisor]);
        assert_eq!(standing(&both, Some(Role::Supervisor)), Standing::Supervisor);
        assert_eq!(standing(&both, None), Standing::Outsider);
        let operator_member = caller("o", &[Role::Agent, Role::Operator]);
        assert_eq!(standing(&operator_member, Some(Role::Agent)), Standing::Operator);
    }

    #[test]
    fn roles_are_spelled_as_tokens_and_answers_spell_them() {
        for (role, name) in [
            (Role::Agent, "agent"),
            (Role::Supervisor, "supervisor"),
            (Role::Operator, "operator"),
        ] {
            assert_eq!((role.as_str(), role.to_string()), (name, name.to_owned()));
            assert_eq!(Role::parse(name), Some(role));
        }
        assert_eq!(Role::parse("Agent"), None);
    }

    #[test]
    fn a_groups_claim_is_read_in_every_shape_api_gateway_and_issuers_write() {
        let both = vec![Role::Agent, Role::Supervisor];
        assert_eq!(roles_of_claim(r#"["supervisor","agent","billing"]"#), both);
        assert_eq!(roles_of_claim("[agent supervisor]"), both);
        assert_eq!(roles_of_claim("agent, supervisor"), both);
        assert_eq!(roles_of_claim("operator"), vec![Role::Operator]);
        assert_eq!(roles_of_claim(""), Vec::<Role>::new());
        assert_eq!(roles_of_claim("[Operator admins]"), Vec::<Role>::new());
    }

    #[test]
    fn user_ids_are_bounded_and_printable() {
        assert!(UserId::parse("u-1").is_ok());
        assert!(UserId::parse(&"x".repeat(128)).is_ok());
        for bad in ["", " u", "u\n", &"x".repeat(129)] {
            assert_eq!(UserId::parse(bad), Err(BadUserId), "{bad:?}");
        }
    }

    #[test]
    fn standing_is_the_membership_capped_by_the_token() {
        let agent = caller("a", &[Role::Agent]);
        let supervisor = caller("s", &[Role::Supervisor]);
        let operator = caller("o", &[Role::Operator]);
        let nobody = caller("n", &[]);
        assert_eq!(standing(&operator, None), Standing::Operator);
        assert_eq!(standing(&supervisor, Some(Role::Supervisor)), Standing::Supervisor);
        assert_eq!(standing(&supervisor, Some(Role::Agent)), Standing::Agent);
        assert_eq!(standing(&agent, Some(Role::Supervisor)), Standing::Agent);
        assert_eq!(standing(&agent, None), Standing::Outsider);
        assert_eq!(standing(&nobody, Some(Role::Supervisor)), Standing::Outsider);
    }

    #[test]
    fn operators_may_do_everything() {
        let op = caller("o", &[Role::Operator]);
        for action in [
            Action::CreateAccount,
            Action::ConfigureAccount,
            Action::ReadAudit,
            Action::Work { holder: Some("a") },
            Action::Assign {
                holder: Some("a"),
                to: None,
            },
        ] {
            assert_eq!(decide(&op, Standing::Operator, action), Decision::Allow, "{action:?}");
        }
    }

    #[test]
    fn outsiders_see_nothing_and_only_operators_create_accounts() {
        let s = caller("s", &[Role::Supervisor]);
        assert_eq!(
            decide(&s, Standing::Supervisor, Action::CreateAccount),
            Decision::Forbid
        );
        assert_eq!(decide(&s, Standing::Outsider, Action::CreateAccount), Decision::Forbid);
        for action in [Action::ReadAccount, Action::ReadConversations, Action::ReadAudit] {
            assert_eq!(decide(&s, Standing::Outsider, action), Decision::Hide, "{action:?}");
        }
        // What the role never allows is forbidden in any account, known or not.
        assert_eq!(
            decide(&s, Standing::Outsider, Action::ConfigureAccount),
            Decision::Forbid
        );
        let a = caller("a", &[Role::Agent]);
        for action in [
            Action::ManageCannedResponses,
            Action::ReadAudit,
            Action::StartConversation,
        ] {
            assert_eq!(decide(&a, Standing::Outsider, action), Decision::Forbid, "{action:?}");
        }
        for action in [
            Action::ReadConversations,
            Action::ReadMembers,
            Action::ReadCannedResponses,
        ] {
            assert_eq!(decide(&a, Standing::Outsider, action), Decision::Hide, "{action:?}");
        }
        let nobody = caller("n", &[]);
        assert_eq!(
            decide(&nobody, Standing::Outsider, Action::ReadAccount),
            Decision::Forbid
        );
    }

    #[test]
    fn supervisors_run_their_desk_but_configure_nothing() {
        let s = caller("s", &[Role::Supervisor]);
        for action in [
            Action::ReadAccount,
            Action::ReadMembers,
            Action::ReadAudit,
            Action::ManageCannedResponses,
            Action::StartConversation,
            Action::Work { holder: Some("a") },
            Action::Assign {
                holder: Some("a"),
                to: Some("b"),
            },
        ] {
            assert_eq!(decide(&s, Standing::Supervisor, action), Decision::Allow, "{action:?}");
        }
        assert_eq!(
            decide(&s, Standing::Supervisor, Action::ConfigureAccount),
            Decision::Forbid
        );
    }

    #[test]
    fn agents_work_what_is_unassigned_or_theirs() {
        let a = caller("a", &[Role::Agent]);
        let on = |holder| decide(&a, Standing::Agent, Action::Work { holder });
        assert_eq!(on(None), Decision::Allow);
        assert_eq!(on(Some("a")), Decision::Allow);
        assert_eq!(on(Some("b")), Decision::HeldBy("b".into()));
        for action in [
            Action::ManageCannedResponses,
            Action::ReadAudit,
            Action::StartConversation,
            Action::ConfigureAccount,
        ] {
            assert_eq!(decide(&a, Standing::Agent, action), Decision::Forbid, "{action:?}");
        }
        for action in [Action::ReadMembers, Action::ReadCannedResponses] {
            assert_eq!(decide(&a, Standing::Agent, action), Decision::Allow, "{action:?}");
        }
    }

    #[test]
    fn agents_transfer_their_own_and_take_unassigned_ones_only() {
        let a = caller("a", &[Role::Agent]);
        let assign = |holder, to| decide(&a, Standing::Agent, Action::Assign { holder, to });
        assert_eq!(assign(Some("a"), Some("b")), Decision::Allow);
        assert_eq!(assign(Some("a"), None), Decision::Allow);
        assert_eq!(assign(None, Some("a")), Decision::Allow);
        assert_eq!(assign(None, Some("b")), Decision::Forbid);
        assert_eq!(assign(Some("b"), Some("a")), Decision::HeldBy("b".into()));
    }
}
