//! The layering rules of DESIGN.md, checked on the source with zero exceptions:
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
    for dir in fs::read_dir(&services).unwrap() {
        let dir = dir.unwrap().path().join("src");
        for file in rust_files(&dir) {
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
