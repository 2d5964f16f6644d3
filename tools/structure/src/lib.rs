//! The house's structure, checked from the sources: which crates each layer may name, no cycle
//! between the modules of a crate, no function over sixty lines.
//!
//! Cargo already refuses a dependency a layer's manifest does not declare; these checks hold the
//! manifests themselves to an allow-list per layer, and read every path a source names (in `use`
//! trees, in expressions and types, inside macro invocations, through `super::`), so that a
//! re-export or a relative path cannot carry a layer past its rule.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::Visit;

/// The longest a function may be, in lines.
pub const MAX_LINES: usize = 60;

/// The names a path may start with that are never a crate.
const KEYWORDS: &[&str] = &["crate", "self", "super", "Self", "std", "core", "alloc"];

/// A layer of the house and the crates its code may name.
#[derive(Debug, Clone)]
pub struct Layer {
    /// The layer's name, as the findings say it.
    pub name: String,
    /// The crates (in Rust spelling: `aws_sdk_dynamodb`) its sources and manifest may name.
    pub allowed: BTreeSet<String>,
    /// Paths (`shared::service`) its sources may not name even though their crate is allowed.
    pub forbidden_paths: Vec<String>,
    /// Whether its functions are held to [`MAX_LINES`].
    pub short_functions: bool,
}

impl Layer {
    /// A layer named `name` that may name the crates `allowed` but not the paths `forbidden_paths`.
    pub fn new(name: &str, allowed: &[&str], forbidden_paths: &[&str]) -> Self {
        Layer {
            name: name.to_owned(),
            allowed: allowed.iter().map(|s| (*s).to_owned()).collect(),
            forbidden_paths: forbidden_paths.iter().map(|s| (*s).to_owned()).collect(),
            short_functions: true,
        }
    }
}

/// The domain: pure types and rules, no runtime, no I/O client, no AWS.
pub fn domain() -> Layer {
    Layer::new(
        "domain",
        &[
            "serde",
            "serde_json",
            "strum",
            "phonenumber",
            "hmac",
            "sha2",
            "base64",
            "subtle",
            "uuid",
            "httpdate",
            "time",
            "jiff",
            "thiserror",
            // Its tests and benchmarks only.
            "proptest",
            "criterion",
        ],
        &[],
    )
}

/// The services: the rules over the capability traits (ports), with tokio for time and joins
/// only; no HTTP, no AWS SDK, no adapter.
pub fn services() -> Layer {
    Layer::new(
        "services",
        &[
            "channel_domain",
            "serde",
            "serde_json",
            "strum",
            "sha2",
            "base64",
            "uuid",
            "time",
            "thiserror",
            "tracing",
            "tokio",
            "rand",
            "futures_util",
        ],
        &[],
    )
}

/// The adapters: DynamoDB, Secrets Manager, SQS, EventBridge, `@connections`, Cognito, S3 (signed
/// by the SDK's own SigV4 signer) and TeleSign's HTTP client, implementing the services' ports;
/// nothing of Lambda or the edge.
pub fn adapters() -> Layer {
    Layer::new(
        "adapters",
        &[
            "channel_domain",
            "channel_services",
            "serde_dynamo",
            "strum",
            "aws_config",
            "aws_sdk_dynamodb",
            "aws_sdk_secretsmanager",
            "aws_sdk_sqs",
            "aws_sdk_apigatewaymanagement",
            "aws_sdk_eventbridge",
            "aws_sdk_cognitoidentityprovider",
            "aws_smithy_runtime_api",
            "aws_smithy_types",
            "aws_sigv4",
            "aws_credential_types",
            "reqwest",
            "rustls",
            "webpki_roots",
            "hyper_rustls",
            "hyper",
            "hyper_util",
            "http_body_util",
            "http",
            "jsonwebtoken",
            "serde",
            "serde_json",
            "base64",
            "uuid",
            "time",
            "thiserror",
            // Joins of the reads one answer needs at once (a listing's shards).
            "futures_util",
            "tracing",
            "tokio",
            "rcgen",
        ],
        &[],
    )
}

/// The HTTP edge and a function's wiring.
pub fn edge() -> Layer {
    Layer::new(
        "edge",
        &[
            "channel_domain",
            "channel_services",
            "channel_adapters",
            "aws_config",
            "lambda_http",
            "serde",
            "serde_json",
            "strum",
            "thiserror",
            "tracing",
            "tracing_subscriber",
            "tokio",
            "http",
        ],
        &[],
    )
}

/// `shared`: the one crate every function depends on, composing the layer crates. Its manifest
/// also names, unused by its code, the crates whose features it unifies for every function (so
/// that a function built alone reuses the workspace's build; `shared/Cargo.toml` says why).
pub fn shared() -> Layer {
    Layer::new(
        "shared",
        &[
            "channel_domain",
            "channel_services",
            "channel_adapters",
            "channel_edge",
            "aws_lambda_events",
            "either",
            "getrandom",
            "num_traits",
            "serde_json",
            "zerocopy",
        ],
        &[],
    )
}

/// A function: its handler over `shared`, and the Lambda runtime; never a layer crate directly
/// (through `shared` only) and never an AWS SDK (the adapters speak AWS).
pub fn function() -> Layer {
    Layer::new(
        "function",
        &[
            "shared",
            "lambda_http",
            "lambda_runtime",
            "aws_lambda_events",
            "tokio",
            "tracing",
            "serde",
            "serde_json",
            "futures",
            "sha2",
            "base64",
            "thiserror",
        ],
        &[],
    )
}

/// The crates no layer below the edge may name, with the reason a finding gives.
const REASONS: &[(&str, &str)] = &[
    ("tokio", "a runtime"),
    ("reqwest", "an HTTP client"),
    ("hyper", "HTTP"),
    ("http", "HTTP"),
    ("lambda_http", "Lambda's HTTP"),
    ("lambda_runtime", "Lambda's runtime"),
];

/// One thing a file or manifest does against its layer's rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The file (or manifest) it is in.
    pub file: String,
    /// What it does.
    pub what: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.what)
    }
}

/// Every path a file names, as segments: from `use` trees, from paths in expressions, types and
/// patterns, and from the tokens of macro invocations (`format!("{}", reqwest::Url::…)`).
#[derive(Default, Debug)]
pub struct Paths {
    /// Each path, whole.
    pub paths: BTreeSet<Vec<String>>,
}

impl Paths {
    /// The paths of a parsed file.
    pub fn of(file: &syn::File) -> Self {
        let mut paths = Paths::default();
        paths.visit_file(file);
        paths
    }

    fn add(&mut self, segments: Vec<String>) {
        if !segments.is_empty() {
            self.paths.insert(segments);
        }
    }

    fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            match &trees[i] {
                TokenTree::Group(g) => self.tokens(g.stream()),
                TokenTree::Ident(id) if !follows_colons(&trees, i) => {
                    let (path, next) = path_at(&trees, i, id.to_string());
                    if path.len() > 1 {
                        self.add(path);
                    }
                    i = next;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// Whether the token at `i` comes right after `::` (it is then inside a path already read).
fn follows_colons(trees: &[TokenTree], i: usize) -> bool {
    i >= 2 && is_colon(&trees[i - 1]) && is_colon(&trees[i - 2])
}

fn is_colon(tree: &TokenTree) -> bool {
    matches!(tree, TokenTree::Punct(p) if p.as_char() == ':')
}

/// The path that starts at token `i` (`a :: b :: c`), and the index after it.
fn path_at(trees: &[TokenTree], mut i: usize, first: String) -> (Vec<String>, usize) {
    let mut path = vec![first];
    i += 1;
    while i + 2 < trees.len() && is_colon(&trees[i]) && is_colon(&trees[i + 1]) {
        match &trees[i + 2] {
            TokenTree::Ident(next) => {
                path.push(next.to_string());
                i += 3;
            }
            _ => break,
        }
    }
    (path, i)
}

impl<'a> Visit<'a> for Paths {
    fn visit_path(&mut self, p: &'a syn::Path) {
        // A path of one segment is a local name (a variable, a function), whatever crate shares it.
        if p.segments.len() > 1 {
            self.add(p.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_item_mod(&mut self, m: &'a syn::ItemMod) {
        if !is_test_only(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }

    fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
        if !is_test_only(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }

    fn visit_use_tree(&mut self, tree: &'a syn::UseTree) {
        let mut prefix = Vec::new();
        collect_use(tree, &mut prefix, self);
    }

    fn visit_macro(&mut self, m: &'a syn::Macro) {
        self.tokens(m.tokens.clone());
        syn::visit::visit_macro(self, m);
    }
}

/// Whether an item is compiled for tests only (`#[cfg(test)]`, `#[test]`): what it names is the
/// tests' business, not the layer's.
fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        let path: Vec<String> = a.path().segments.iter().map(|s| s.ident.to_string()).collect();
        let cfg_test = || {
            a.path().is_ident("cfg")
                && a.meta.require_list().is_ok_and(|l| {
                    let tokens = l.tokens.to_string();
                    tokens == "test" || tokens.starts_with("any (test")
                })
        };
        path.last().is_some_and(|last| last == "test") || cfg_test()
    })
}

fn collect_use(tree: &syn::UseTree, prefix: &mut Vec<String>, paths: &mut Paths) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            collect_use(&p.tree, prefix, paths);
            prefix.pop();
        }
        syn::UseTree::Name(n) => paths.add([prefix.as_slice(), &[n.ident.to_string()]].concat()),
        syn::UseTree::Rename(r) => paths.add([prefix.as_slice(), &[r.ident.to_string()]].concat()),
        syn::UseTree::Glob(_) => paths.add([prefix.as_slice(), &["*".to_owned()]].concat()),
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| collect_use(t, prefix, paths)),
    }
}

/// A source file of a crate: where it is, the module path it is (`["store", "accounts"]` for
/// `src/store/accounts.rs`), and its parsed text.
pub struct Source {
    /// Its path, as findings name it.
    pub file: String,
    /// Its module path within the crate (empty for the crate root).
    pub module: Vec<String>,
    /// The parsed file.
    pub syntax: syn::File,
}

impl Source {
    /// Parses `text` as the file `file` of module `module`.
    pub fn parse(file: &str, module: &[&str], text: &str) -> Result<Self, String> {
        let syntax = syn::parse_file(text).map_err(|e| format!("{file}: {e}"))?;
        Ok(Source {
            file: file.to_owned(),
            module: module.iter().map(|s| (*s).to_owned()).collect(),
            syntax,
        })
    }

    /// The top-level module of the crate a path names, resolving `crate::` and `super::`
    /// (`None` when the path leaves the crate or stays at its root).
    fn top_module(&self, path: &[String]) -> Option<String> {
        let mut at: Vec<String> = match path.first().map(String::as_str) {
            Some("crate") => Vec::new(),
            Some("super") | Some("self") => self.module.clone(),
            _ => return None,
        };
        let mut rest = &path[1..];
        if path[0] == "super" {
            at.pop();
            while rest.first().is_some_and(|s| s == "super") {
                at.pop();
                rest = &rest[1..];
            }
        }
        let mut whole = at;
        whole.extend(rest.iter().cloned());
        whole.into_iter().next().filter(|m| m != "*")
    }
}

/// The crate names a set of paths starts with, among `crates` (the names of every package
/// the workspace could use), leaving out the crate's own top-level modules.
fn crates_named(paths: &Paths, crates: &BTreeSet<String>, own: &BTreeSet<String>) -> BTreeSet<String> {
    paths
        .paths
        .iter()
        .filter_map(|p| p.first())
        .filter(|root| !KEYWORDS.contains(&root.as_str()) && crates.contains(*root) && !own.contains(*root))
        .cloned()
        .collect()
}

/// What a crate's sources do against `layer`: crates it may not name, forbidden paths, module
/// cycles and long functions (of the code that ships: tests and the test kit are not held to
/// the length).
pub fn check_sources(layer: &Layer, sources: &[Source], crates: &BTreeSet<String>) -> Vec<Finding> {
    let own: BTreeSet<String> = sources.iter().filter_map(|s| s.module.first().cloned()).collect();
    let mut findings = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in sources {
        let paths = Paths::of(&source.syntax);
        for name in crates_named(&paths, crates, &own) {
            if !layer.allowed.contains(&name) {
                findings.push(Finding {
                    file: source.file.clone(),
                    what: format!("the {} layer names `{name}`{}", layer.name, reason(&name)),
                });
            }
        }
        findings.extend(forbidden_paths(layer, source, &paths));
        let here = source.module.first().cloned().unwrap_or_default();
        for path in &paths.paths {
            if let Some(to) = source.top_module(path) {
                if to != here && own.contains(&to) {
                    edges.entry(here.clone()).or_default().insert(to);
                }
            }
        }
        // Tests and the test kit (`testkit`, compiled for tests only) read best as whole scenarios.
        if layer.short_functions && source.module.first().is_none_or(|m| m != "testkit") {
            findings.extend(long_functions(source));
        }
    }
    findings.extend(cycles(layer, &edges));
    findings
}

fn reason(name: &str) -> String {
    REASONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, why)| format!(" ({why})"))
        .or_else(|| name.starts_with("aws_sdk_").then(|| " (an AWS SDK)".to_owned()))
        .unwrap_or_default()
}

fn forbidden_paths(layer: &Layer, source: &Source, paths: &Paths) -> Vec<Finding> {
    let mut findings = Vec::new();
    for forbidden in &layer.forbidden_paths {
        let wanted: Vec<&str> = forbidden.split("::").collect();
        let named = paths
            .paths
            .iter()
            .any(|p| p.len() >= wanted.len() && p.iter().zip(&wanted).all(|(a, b)| a == b));
        if named {
            findings.push(Finding {
                file: source.file.clone(),
                what: format!("the {} layer names `{forbidden}`", layer.name),
            });
        }
    }
    findings
}

fn cycles(layer: &Layer, edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Finding> {
    let mut found = Vec::new();
    for (from, tos) in edges {
        for to in tos {
            if reaches(edges, to, from) {
                found.push(Finding {
                    file: format!("the {} crate", layer.name),
                    what: format!("module cycle: {from} → {to} → … → {from}"),
                });
            }
        }
    }
    found
}

/// Whether module `from` reaches module `to` along `edges`.
pub fn reaches(edges: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_owned()];
    while let Some(m) = todo.pop() {
        for next in edges.get(&m).into_iter().flatten() {
            if next == to {
                return true;
            }
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    false
}

#[derive(Default)]
struct Lengths {
    long: Vec<(String, usize)>,
}

impl Lengths {
    fn check(&mut self, name: &syn::Ident, span: proc_macro2::Span) {
        let lines = span.end().line - span.start().line + 1;
        if lines > MAX_LINES {
            self.long.push((name.to_string(), lines));
        }
    }
}

impl<'a> Visit<'a> for Lengths {
    fn visit_item_mod(&mut self, m: &'a syn::ItemMod) {
        if !is_test_only(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }

    fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
        if is_test_only(&f.attrs) {
            return;
        }
        self.check(&f.sig.ident, f.span());
        syn::visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'a syn::ImplItemFn) {
        self.check(&f.sig.ident, f.span());
        syn::visit::visit_impl_item_fn(self, f);
    }

    fn visit_trait_item_fn(&mut self, f: &'a syn::TraitItemFn) {
        self.check(&f.sig.ident, f.span());
        syn::visit::visit_trait_item_fn(self, f);
    }
}

fn long_functions(source: &Source) -> Vec<Finding> {
    let mut lengths = Lengths::default();
    lengths.visit_file(&source.syntax);
    lengths
        .long
        .into_iter()
        .map(|(f, n)| Finding {
            file: source.file.clone(),
            what: format!("`{f}` is {n} lines (at most {MAX_LINES})"),
        })
        .collect()
}

/// The dependencies a manifest declares under `[dependencies]` (and, with `dev`, under
/// `[dev-dependencies]`), in Rust spelling.
pub fn manifest_dependencies(manifest: &str, dev: bool) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut inside = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == "[dependencies]" || (dev && line == "[dev-dependencies]");
            continue;
        }
        if !inside || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line
            .split(['=', '.', ' '])
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches('"');
        if !name.is_empty() {
            names.insert(name.replace('-', "_"));
        }
    }
    names
}

/// What a layer's manifest declares against its allow-list.
pub fn check_manifest(layer: &Layer, file: &str, manifest: &str) -> Vec<Finding> {
    manifest_dependencies(manifest, true)
        .into_iter()
        .filter(|d| !layer.allowed.contains(d))
        .map(|d| Finding {
            file: file.to_owned(),
            what: format!("the {} layer depends on `{d}`{}", layer.name, reason(&d)),
        })
        .collect()
}

/// The names of every package in a lock file, in Rust spelling.
pub fn locked_crates(lock: &str) -> BTreeSet<String> {
    lock.lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .map(|n| n.trim_end_matches('"').replace('-', "_"))
        .collect()
}

/// The Rust sources under a crate's `src/` (and, if present, `tests/` and `benches/`, each
/// file a crate root of its own), with their module paths.
pub fn crate_sources(dir: &Path) -> Result<Vec<Source>, String> {
    let mut sources = Vec::new();
    let src = dir.join("src");
    for path in rust_files(&src) {
        let rel = path.strip_prefix(&src).expect("under src");
        let module = module_path(rel);
        let module: Vec<&str> = module.iter().map(String::as_str).collect();
        sources.push(read(dir, &path, &module)?);
    }
    for extra in ["tests", "benches"] {
        for path in rust_files(&dir.join(extra)) {
            sources.push(read(dir, &path, &[])?);
        }
    }
    Ok(sources)
}

fn read(dir: &Path, path: &Path, module: &[&str]) -> Result<Source, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = dir
        .file_name()
        .map(|d| Path::new(d).join(path.strip_prefix(dir).unwrap_or(path)))
        .unwrap_or_else(|| path.to_owned());
    Source::parse(&name.display().to_string(), module, &text)
}

/// `store/accounts.rs` → `["store", "accounts"]`; `store/mod.rs` → `["store"]`; `lib.rs`,
/// `main.rs` → `[]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs").to_owned();
        if !["mod", "lib", "main"].contains(&stem.as_str()) {
            parts.push(stem);
        }
    }
    parts
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// A tool of the local stack (the gateway, the simulator, the fault proxy, the benchmarks): it
/// may use what its manifest declares, but never the channel's rules (`shared::service`): the
/// tools stand in for AWS and TeleSign, and measure; they do not decide what the channel does.
/// The sixty-line rule is the deployed code's: a stand-in's dispatch table or a benchmark's
/// scenario reads best whole, and nothing of it runs in AWS.
pub fn tool(name: &str, manifest: &str) -> Layer {
    let mut layer = Layer::new(name, &[], &["shared::service"]);
    layer.allowed = manifest_dependencies(manifest, true);
    layer.short_functions = false;
    layer
}
