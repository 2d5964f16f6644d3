//! The routes of the HTTP API and the function behind each: the same table as `template.yaml`
//! (a test keeps the two equal).

/// The functions of the stack, by their binary names.
pub const FUNCTIONS: &[&str] = &[
    "inbound-callback",
    "outbound-send",
    "validate-credentials",
    "accounts",
    "conversations",
    "console",
    "callback-replay",
    "sweeper",
    "events",
    "sockets",
    "worker",
    "setup",
];

/// The functions behind the HTTP API's routes, each once, in the table's order.
pub fn http_functions() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for r in ROUTES {
        if !names.contains(&r.function) {
            names.push(r.function);
        }
    }
    names
}

/// One route: method, path template (`{name}` for a parameter), function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path template as API Gateway writes it.
    pub path: &'static str,
    /// The function's binary name.
    pub function: &'static str,
    /// Whether the route is open at the gateway (verified by the function itself).
    pub public: bool,
}

const fn route(method: &'static str, path: &'static str, function: &'static str, public: bool) -> Route {
    Route {
        method,
        path,
        function,
        public,
    }
}

/// Every route.
pub const ROUTES: &[Route] = &[
    route("POST", "/telesign/{account_id}/callback", "inbound-callback", true),
    route("POST", "/accounts/validate", "validate-credentials", false),
    route("POST", "/accounts/{account_id}/validate", "validate-credentials", false),
    route("POST", "/accounts", "accounts", false),
    route("GET", "/accounts", "accounts", false),
    route("GET", "/accounts/{account_id}", "accounts", false),
    route("PATCH", "/accounts/{account_id}", "accounts", false),
    route("DELETE", "/accounts/{account_id}", "accounts", false),
    route(
        "GET",
        "/accounts/{account_id}/customers/{number}/export",
        "accounts",
        false,
    ),
    route("DELETE", "/accounts/{account_id}/customers/{number}", "accounts", false),
    route("PUT", "/accounts/{account_id}/api-key", "accounts", false),
    route("POST", "/accounts/{account_id}/numbers", "accounts", false),
    route("DELETE", "/accounts/{account_id}/numbers/{number}", "accounts", false),
    route("PATCH", "/accounts/{account_id}/numbers/{number}", "accounts", false),
    route("GET", "/conversations", "conversations", false),
    route("GET", "/conversations/{conversation_id}", "conversations", false),
    route(
        "POST",
        "/conversations/{conversation_id}/accept",
        "conversations",
        false,
    ),
    route("POST", "/conversations/{conversation_id}/close", "conversations", false),
    route("POST", "/conversations/{conversation_id}/end", "conversations", false),
    route(
        "POST",
        "/conversations/{conversation_id}/messages",
        "outbound-send",
        false,
    ),
    route(
        "POST",
        "/conversations/{conversation_id}/assign",
        "conversations",
        false,
    ),
    route("POST", "/conversations/{conversation_id}/notes", "conversations", false),
    route(
        "GET",
        "/accounts/{account_id}/conversations/counts",
        "conversations",
        false,
    ),
    route(
        "GET",
        "/accounts/{account_id}/customers/{number}/conversations",
        "conversations",
        false,
    ),
    route("GET", "/accounts/{account_id}/canned-responses", "accounts", false),
    route("POST", "/accounts/{account_id}/canned-responses", "accounts", false),
    route(
        "PUT",
        "/accounts/{account_id}/canned-responses/{canned_response_id}",
        "accounts",
        false,
    ),
    route(
        "DELETE",
        "/accounts/{account_id}/canned-responses/{canned_response_id}",
        "accounts",
        false,
    ),
    route("POST", "/messages", "outbound-send", false),
    route("GET", "/me", "accounts", false),
    route("GET", "/accounts/{account_id}/members", "accounts", false),
    route("PUT", "/accounts/{account_id}/members/{user_id}", "accounts", false),
    route("DELETE", "/accounts/{account_id}/members/{user_id}", "accounts", false),
    route("GET", "/audit", "accounts", false),
    route("GET", "/console", "console", true),
];

/// Path parameters by name.
pub type Params = Vec<(String, String)>;

/// The route a request takes, with its path parameters: literal segments win over parameters,
/// as in API Gateway. `Err(true)` when the path exists with other methods.
pub fn find(method: &str, path: &str) -> Result<(Route, Params), bool> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut best: Option<(usize, Route, Params)> = None;
    let mut path_known = false;
    for r in ROUTES {
        let template: Vec<&str> = r.path.split('/').collect();
        if template.len() != segments.len() {
            continue;
        }
        let mut params = Vec::new();
        let mut literal = 0;
        let matched = template.iter().zip(&segments).all(|(t, s)| {
            if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                params.push((name.to_owned(), (*s).to_owned()));
                !s.is_empty()
            } else {
                literal += 1;
                t == s
            }
        });
        if !matched {
            continue;
        }
        path_known = true;
        if r.method == method && best.as_ref().is_none_or(|(l, _, _)| literal > *l) {
            best = Some((literal, *r, params));
        }
    }
    best.map(|(_, r, p)| (r, p)).ok_or(path_known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_segments_win_over_parameters() {
        let (r, p) = find("POST", "/accounts/validate").unwrap();
        assert_eq!(r.function, "validate-credentials");
        assert!(p.is_empty());
        let (r, p) = find("GET", "/accounts/abc").unwrap();
        assert_eq!((r.function, p[0].1.as_str()), ("accounts", "abc"));
    }

    #[test]
    fn unknown_paths_and_methods_are_told_apart() {
        assert!(!find("GET", "/nowhere").unwrap_err());
        assert!(find("DELETE", "/accounts").unwrap_err());
    }
}
