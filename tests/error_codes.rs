//! The layers hold: short functions, no cycle between the modules of `shared`, nothing of HTTP
//! below the edge, and the error codes of `docs/architecture.md` equal to `ErrorCode`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::spanned::Spanned;
use syn::visit::Visit;

/// The longest a function may be, in lines.
const MAX_LINES: usize = 60;
/// The modules of `shared` that form the HTTP edge (and the wiring above it: the Lambda loop,
/// logging, each invocation's span and metrics).
const EDGE: &[&str] = &["http", "error", "runtime", "logging", "observe", "lib"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&root().join("shared/src"), &mut files);
    for function in std::fs::read_dir(root().join("functions")).expect("functions/") {
        rust_files(&function.expect("a function").path().join("src"), &mut files);
    }
    files
}

fn parse(path: &Path) -> syn::File {
    let text = std::fs::read_to_string(path).expect("readable source");
    syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
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
    fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
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

#[test]
fn no_function_is_longer_than_sixty_lines() {
    let mut long = Vec::new();
    for path in sources() {
        let mut lengths = Lengths::default();
        lengths.visit_file(&parse(&path));
        long.extend(
            lengths
                .long
                .into_iter()
                .map(|(f, n)| format!("{}: {f} ({n} lines)", path.display())),
        );
    }
    assert!(long.is_empty(), "functions over {MAX_LINES} lines: {long:#?}");
}

/// The top-level module of `shared` a file belongs to.
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(root().join("shared/src")).expect("a file of shared");
    let first = rel
        .components()
        .next()
        .expect("a component")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_owned()
}

#[derive(Default)]
struct References {
    modules: BTreeSet<String>,
    names: BTreeSet<String>,
}

impl<'a> Visit<'a> for References {
    fn visit_path(&mut self, p: &'a syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 && segments[0] == "crate" {
            self.modules.insert(segments[1].clone());
        }
        self.names.extend(segments);
        syn::visit::visit_path(self, p);
    }

    fn visit_use_tree(&mut self, tree: &'a syn::UseTree) {
        collect_use(tree, &mut Vec::new(), self);
    }
}

fn collect_use(tree: &syn::UseTree, prefix: &mut Vec<String>, refs: &mut References) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            collect_use(&p.tree, prefix, refs);
            prefix.pop();
        }
        syn::UseTree::Name(n) => record_use(prefix, &n.ident.to_string(), refs),
        syn::UseTree::Rename(r) => record_use(prefix, &r.ident.to_string(), refs),
        syn::UseTree::Glob(_) => record_use(prefix, "*", refs),
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| collect_use(t, prefix, refs)),
    }
}

fn record_use(prefix: &[String], last: &str, refs: &mut References) {
    let mut path: Vec<String> = prefix.to_vec();
    path.push(last.to_owned());
    if path.len() > 1 && path[0] == "crate" {
        refs.modules.insert(path[1].clone());
    }
    refs.names.extend(path);
}

fn shared_graph() -> (BTreeMap<String, BTreeSet<String>>, BTreeMap<String, BTreeSet<String>>) {
    let mut files = Vec::new();
    rust_files(&root().join("shared/src"), &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in files {
        let module = module_of(&path);
        let mut refs = References::default();
        refs.visit_file(&parse(&path));
        refs.modules.remove(&module);
        edges.entry(module.clone()).or_default().extend(refs.modules);
        names.entry(module).or_default().extend(refs.names);
    }
    (edges, names)
}

fn reaches(edges: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
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

#[test]
fn the_modules_of_shared_form_no_cycle() {
    let (edges, _) = shared_graph();
    let cycles: Vec<String> = edges
        .iter()
        .flat_map(|(m, to)| {
            to.iter()
                .filter(|t| reaches(&edges, t, m))
                .map(move |t| format!("{m} → {t} → … → {m}"))
        })
        .collect();
    assert!(cycles.is_empty(), "module cycles in shared: {cycles:#?}");
    assert!(
        reaches(&edges, "store", "service"),
        "the graph is read: the store implements the service's ports"
    );
}

#[test]
fn nothing_below_the_edge_knows_http() {
    let (_, names) = shared_graph();
    let leaks: Vec<String> = names
        .iter()
        .filter(|(m, _)| !EDGE.contains(&m.as_str()))
        .flat_map(|(m, n)| {
            ["ApiError", "lambda_http"]
                .into_iter()
                .filter(|x| n.contains(*x))
                .map(move |x| format!("{m} uses {x}"))
        })
        .collect();
    assert!(leaks.is_empty(), "{leaks:#?}");
    let service = names.get("service").expect("the service module");
    for aws in ["aws_sdk_dynamodb", "aws_sdk_secretsmanager", "aws_config", "reqwest"] {
        assert!(!service.contains(aws), "the service layer names {aws}");
    }
}

#[test]
fn the_documented_error_codes_are_the_enum() {
    use strum::IntoEnumIterator;
    let doc = std::fs::read_to_string(root().join("docs/architecture.md")).expect("docs/architecture.md");
    let start = doc.find("<!-- error-codes -->").expect("the error-codes marker");
    let end = doc.find("<!-- /error-codes -->").expect("the end marker");
    let documented: BTreeSet<String> = doc[start..end]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    let code: BTreeSet<String> = shared::error::ErrorCode::iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    assert_eq!(documented, code);
}
