//! The layering rules of docs/design.md, checked on the source with zero exceptions:
//! routers never use repositories or clients; services never use axum, http or Lambda types
//! (nor the HTTP-edge modules); repositories never use services, routers or state; binaries use
//! only the composition root (`common::app`).

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

/// The source without comments (so a doc comment may name what the code must not use).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path the code names, as `root::first` pairs: `use crate::{a::b, c}` gives
/// `crate::a` and `crate::c`; `axum::Router` in an expression gives `axum::Router`.
fn named_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    // Flatten `use` groups: `use crate::{a::{x, y}, b};` -> crate::a, crate::b.
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let tail = &rest[at + 4..];
        let Some(end) = tail.find(';') else { break };
        let statement: String = tail[..end].split_whitespace().collect();
        if let Some((root, group)) = statement.split_once("::{") {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        push_first(&mut found, root, &item);
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            push_first(&mut found, root, &item);
        }
        rest = &tail[end..];
    }
    // Plain paths anywhere: `root::name`.
    let bytes: Vec<char> = code.chars().collect();
    let text: String = bytes.iter().collect();
    for (at, _) in text.match_indices("::") {
        let before: String = text[..at]
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let after: String = text[at + 2..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let preceded_by_path = text[..at - before.len()].ends_with("::");
        if !before.is_empty() && !after.is_empty() && !preceded_by_path {
            found.insert(format!("{before}::{after}"));
        }
        if preceded_by_path && !after.is_empty() {
            // `crate::http::error` also names `http::error` (the `http` module of the crate):
            // keep the two-segment prefix instead.
            let prefix_start = text[..at - before.len() - 2]
                .chars()
                .rev()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .count();
            let root = &text[at - before.len() - 2 - prefix_start..at - before.len() - 2];
            if root == "crate" || root == "common" || root == "super" {
                found.insert(format!("{root}::{before}"));
            }
        }
    }
    found
}

fn push_first(found: &mut BTreeSet<String>, root: &str, item: &str) {
    let first: String = item
        .trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if !first.is_empty() {
        found.insert(format!("{root}::{first}"));
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The violations of `forbidden` (path prefixes) in the files under `dir`.
fn violations(dir: &Path, forbidden: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for file in rust_files(dir) {
        let code = code_of(&fs::read_to_string(&file).unwrap());
        for path in named_paths(&code) {
            if forbidden
                .iter()
                .any(|f| path == *f || path.starts_with(&format!("{f}::")))
            {
                out.push(format!("{}: {path}", file.display()));
            }
        }
    }
    out
}

fn src(part: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(part)
}

const HTTP_EDGE: &[&str] = &[
    "axum",
    "http",
    "tower",
    "lambda_http",
    "lambda_runtime",
    "aws_lambda_events",
    "crate::http",
    "crate::auth",
    "crate::routers",
    "crate::state",
    "crate::runtime",
    "crate::app",
    "super::super::http",
];

#[test]
fn routers_never_use_repositories_or_clients() {
    let found = violations(
        &src("routers"),
        &[
            "crate::repositories",
            "crate::clients",
            "crate::app",
            "sqlx",
            "aws_sdk_dynamodb",
            "redis",
        ],
    );
    assert!(found.is_empty(), "routers reach past services: {found:#?}");
}

#[test]
fn services_know_no_http_lambda_or_sdk_types() {
    let mut forbidden = HTTP_EDGE.to_vec();
    forbidden.extend([
        "sqlx",
        "aws_sdk_dynamodb",
        "aws_sdk_s3",
        "aws_sdk_sqs",
        "aws_sdk_sfn",
        "redis",
    ]);
    let found = violations(&src("services"), &forbidden);
    assert!(
        found.is_empty(),
        "services use edge or SDK types: {found:#?}"
    );
}

#[test]
fn repositories_never_use_services_routers_or_state() {
    let found = violations(
        &src("repositories"),
        &[
            "crate::services",
            "crate::routers",
            "crate::state",
            "crate::app",
            "crate::http",
            "crate::auth",
            "axum",
            "http",
        ],
    );
    assert!(found.is_empty(), "repositories reach upwards: {found:#?}");
}

#[test]
fn models_depend_on_nothing_but_models() {
    let found = violations(
        &src("models"),
        &[
            "crate::services",
            "crate::routers",
            "crate::repositories",
            "crate::clients",
            "crate::state",
            "crate::app",
            "crate::http",
            "axum",
            "sqlx",
        ],
    );
    assert!(found.is_empty(), "models depend on layers: {found:#?}");
}

#[test]
fn binaries_use_only_the_composition_root() {
    let services = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../services");
    let mut found = Vec::new();
    for entry in fs::read_dir(&services).unwrap() {
        // The function crates (`services/no_pie.rs` is their build scripts' shared body).
        let dir = entry.unwrap().path();
        if !dir.join("Cargo.toml").is_file() {
            continue;
        }
        for file in rust_files(&dir.join("src")) {
            let code = code_of(&fs::read_to_string(&file).unwrap());
            for path in named_paths(&code) {
                if path.starts_with("common::") && !path.starts_with("common::app") {
                    found.push(format!("{}: {path}", file.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "binaries bypass common::app: {found:#?}");
}

#[test]
fn the_checker_sees_grouped_nested_and_inline_paths() {
    let code = code_of(
        "use crate::{\n    error::Error,\n    repositories::{cache::Cache, x},\n};\n\
         use axum::Router; // crate::clients in a comment is fine\n\
         fn f() { let _ = crate::http::error::ApiError::MethodNotAllowed; common::state::X; }",
    );
    let paths = named_paths(&code);
    for expected in [
        "crate::error",
        "crate::repositories",
        "axum::Router",
        "crate::http",
        "common::state",
    ] {
        assert!(paths.contains(expected), "{expected} in {paths:?}");
    }
    assert!(
        !paths.contains("crate::clients"),
        "comments are ignored: {paths:?}"
    );
}

/// The module a source file is (`src/http/error.rs` → `http::error`, `src/http/mod.rs` →
/// `http`, `src/lib.rs` → the root, ``).
fn module_of(file: &Path) -> String {
    let relative = file.strip_prefix(src("")).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

/// Every `use` statement flattened into full paths: `use crate::{a::{b, c}, d};` gives
/// `crate::a::b`, `crate::a::c` and `crate::d`.
fn use_paths(code: &str) -> Vec<String> {
    fn flatten(prefix: &str, tree: &str, out: &mut Vec<String>) {
        let tree = tree.trim();
        if let Some(open) = tree.find('{') {
            let head = tree[..open].trim_end_matches("::");
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let prefix = if head.is_empty() {
                prefix.to_owned()
            } else if prefix.is_empty() {
                head.to_owned()
            } else {
                format!("{prefix}::{head}")
            };
            let (mut depth, mut item) = (0, String::new());
            for c in inner.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        flatten(&prefix, &item, out);
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            flatten(&prefix, &item, out);
        } else if !tree.is_empty() {
            let tree = tree.split(" as ").next().unwrap_or(tree).trim();
            out.push(if prefix.is_empty() {
                tree.to_owned()
            } else {
                format!("{prefix}::{tree}")
            });
        }
    }
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let starts_word =
            at == 0 || !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let tail = &rest[at + 4..];
        let Some(end) = tail.find(';') else { break };
        if starts_word {
            let statement: String = tail[..end].split_whitespace().collect::<Vec<_>>().join(" ");
            flatten(
                "",
                &statement.replace(" ", "").replace("as", " as "),
                &mut out,
            );
        }
        rest = &tail[end..];
    }
    // Inline paths: `crate::a::b(…)`, `super::x`.
    for root in ["crate::", "super::"] {
        for (at, _) in code.match_indices(root) {
            if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let path: String = code[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(path.trim_end_matches(':').to_owned());
        }
    }
    out
}

/// The module files of the crate and the modules each one uses (resolved to the deepest
/// module that exists), leaving out a module's own ancestors and descendants: a module and
/// its submodules are one unit (a parent re-exports, a child uses its parent's constants).
fn module_graph() -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let files = rust_files(&src(""));
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let mut graph = std::collections::BTreeMap::new();
    for file in &files {
        let me = module_of(file);
        let code = code_of(&fs::read_to_string(file).unwrap());
        let code = code.split("#[cfg(test)]").next().unwrap_or_default();
        let mut uses = BTreeSet::new();
        for path in use_paths(code) {
            let mut segments: Vec<&str> = path.split("::").collect();
            let mut base: Vec<&str> = match segments.first() {
                Some(&"crate") => Vec::new(),
                Some(&"super") => {
                    let mut parent: Vec<&str> = me.split("::").filter(|s| !s.is_empty()).collect();
                    let is_dir_module = file.ends_with("mod.rs");
                    while segments.first() == Some(&"super") {
                        segments.remove(0);
                        if !is_dir_module || segments.first() == Some(&"super") {
                            parent.pop();
                        }
                    }
                    segments.insert(0, "crate");
                    parent
                }
                _ => continue,
            };
            segments.remove(0);
            let mut target = String::new();
            for segment in segments {
                base.push(segment);
                let candidate = base.join("::");
                if modules.contains(&candidate) {
                    target = candidate;
                } else {
                    break;
                }
            }
            let related = target.is_empty()
                || target == me
                || target.starts_with(&format!("{me}::"))
                || me.starts_with(&format!("{target}::"));
            if !related {
                uses.insert(target);
            }
        }
        graph.insert(me, uses);
    }
    graph
}

/// The cycles of `graph`: every strongly connected component of more than one module.
fn cycles(graph: &std::collections::BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Kosaraju: the order of a first walk, then the walk of the reversed graph in that order.
    fn visit(
        node: &str,
        graph: &std::collections::BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<String>,
        order: &mut Vec<String>,
    ) {
        if !seen.insert(node.to_owned()) {
            return;
        }
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, seen, order);
        }
        order.push(node.to_owned());
    }
    let mut reversed: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for (from, tos) in graph {
        for to in tos {
            reversed.entry(to.clone()).or_default().insert(from.clone());
        }
    }
    let (mut seen, mut order) = (BTreeSet::new(), Vec::new());
    for node in graph.keys() {
        visit(node, graph, &mut seen, &mut order);
    }
    let mut assigned = BTreeSet::new();
    let mut out = Vec::new();
    for node in order.iter().rev() {
        let mut component = Vec::new();
        visit(node, &reversed, &mut assigned, &mut component);
        if component.len() > 1 {
            component.sort();
            out.push(component);
        }
    }
    out
}

#[test]
fn no_module_uses_a_module_that_uses_it_back() {
    let found = cycles(&module_graph());
    assert!(found.is_empty(), "module circles: {found:#?}");
}

#[test]
fn the_circle_check_sees_a_circle() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    assert_eq!(
        cycles(&graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])),
        [["a", "b", "c"]]
    );
    assert!(cycles(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])).is_empty());
    // The graph of the real source resolves grouped, nested and `super` paths.
    let graph = module_graph();
    assert!(graph["http::request_id"].contains("http::error"));
    assert!(graph["services::checkout_saga::steps"].contains("services::cart"));
    assert!(graph["runtime::queue"].contains("services::queue"));
    assert!(!graph["services::checkout_saga::steps"].contains("services::checkout_saga"));
}

/// Lambda's event types and the queue envelopes' field names, only at the edge.
#[test]
fn message_envelopes_are_parsed_only_in_the_runtime() {
    let mut found = Vec::new();
    for file in rust_files(&src("")) {
        if file.starts_with(src("runtime")) {
            continue;
        }
        let code = code_of(&fs::read_to_string(&file).unwrap());
        let code = code.split("#[cfg(test)]").next().unwrap_or_default();
        for marker in [
            "aws_lambda_events",
            "\"Records\"",
            "\"Notification\"",
            "\"TopicArn\"",
        ] {
            if code.contains(marker) {
                found.push(format!("{}: {marker}", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "envelopes parsed outside runtime/: {found:#?}"
    );
}

/// Stock moves (`INSERT`/`UPDATE`/`DELETE` of `product_inventory`) only in the inventory's
/// repository; reading availability next to a product (a join) is allowed.
#[test]
fn stock_moves_only_in_the_inventory_repository() {
    let moves = regex_free_stock_moves;
    let mut found = Vec::new();
    for file in rust_files(&src("")) {
        if file.ends_with("repositories/inventory_pg.rs") {
            continue;
        }
        let code = fs::read_to_string(&file).unwrap();
        if moves(&code) {
            found.push(file.display().to_string());
        }
    }
    assert!(
        found.is_empty(),
        "stock moved outside inventory_pg.rs: {found:#?}"
    );
    let inventory = fs::read_to_string(src("repositories/inventory_pg.rs")).unwrap();
    assert!(
        moves(&inventory),
        "the check no longer sees the inventory's own statements"
    );
}

/// Whether `code` has an `INSERT INTO`, `UPDATE` or `DELETE FROM` of `product_inventory`.
fn regex_free_stock_moves(code: &str) -> bool {
    let flat: String = code
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase();
    [
        "INSERT INTO PRODUCT_INVENTORY",
        "UPDATE PRODUCT_INVENTORY",
        "DELETE FROM PRODUCT_INVENTORY",
    ]
    .iter()
    .any(|statement| flat.contains(statement))
}
