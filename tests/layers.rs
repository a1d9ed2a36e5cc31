//! The layers of `src/` point one way: no module uses one on a layer above it, so
//! the top-level modules form no circle. `docs/architecture.md` ("Layers") draws the
//! same picture; this test keeps the code to it.
//!
//! Read from the source text: every `crate::name` path and every name in a
//! `use crate::{...}` group, outside comments, counts as a use of `name`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules by layer, bottom first. A module may use its own layer and the
/// layers below it.
const LAYERS: &[(&str, &[&str])] = &[
    ("exit codes", &["error"]),
    (
        "foundations",
        &["fault", "free_text", "key_strength", "kz", "stop", "when"],
    ),
    ("data map and schema model", &["map"]),
    ("PostgreSQL", &["pg"]),
    ("files on disk", &["files"]),
    ("operations", &["ops"]),
    ("command line", &["cli", "output", "terminal", "commands"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// The top-level module a source file belongs to (`src/ops/erase.rs` -> `ops`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level modules a file's code names through `crate::`.
fn uses_of(text: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                // `use crate::{a, b::c}` on one line; rustfmt splits longer groups,
                // whose later lines start with the module name.
                for item in group.split(['}', ',']) {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        used.insert(name);
                    }
                }
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                used.insert(name);
            }
        }
    }
    used
}

/// Every use of a module on a higher layer, and the top-level graph.
fn module_graph() -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut graph: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        if module == "main" || module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a source file is readable");
        for used in uses_of(&text) {
            if used != module && layer_of(&used).is_some() {
                graph
                    .entry(module.clone())
                    .or_default()
                    .entry(used)
                    .or_default()
                    .push(file.strip_prefix(&src).unwrap().display().to_string());
            }
        }
    }
    graph
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let unplaced: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_of(&src, f))
        .filter(|m| m != "main" && m != "lib" && layer_of(m).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules without a layer (add them to LAYERS and docs/architecture.md): {unplaced:?}"
    );
}

#[test]
fn no_module_uses_one_on_a_layer_above_it() {
    let mut upward = Vec::new();
    for (module, uses) in module_graph() {
        let own = layer_of(&module).expect("placed");
        for (used, files) in uses {
            let theirs = layer_of(&used).expect("placed");
            if theirs > own {
                upward.push(format!(
                    "{module} ({}) uses {used} ({}) in {}",
                    LAYERS[own].0,
                    LAYERS[theirs].0,
                    files.join(", ")
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "uses pointing up a layer:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_top_level_modules_form_no_circle() {
    let graph = module_graph();
    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).map(|m| m.keys()).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(circle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("the modules form a circle: {}", circle.join(" -> "));
        }
    }
}
