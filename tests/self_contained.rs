//! The repository is self-contained: no tracked file refers to a path outside it, so a fresh
//! clone with nothing beside it builds and passes its own tests. `.ci/run` proves the same
//! by running the whole suite in such a clone; this test is the fast check that names the
//! file and line at fault.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Files that still reach outside the repository, each waiting for a change made on another
/// branch, with that change. An entry whose file no longer matches fails the test, so this
/// list can only shrink: delete the entry when the change lands.
const PENDING: &[(&str, &str)] = &[];

/// What a path outside the repository looks like in this code base: the reference folder
/// beside the repository (`<up>/shared`, as a README or a crate three levels down writes
/// it), anything three levels above a crate's manifest directory (every crate sits at most
/// two levels down, so that is always outside), and the absolute path of the machine the
/// project was first built on. Built from pieces so that this file does not match itself.
fn patterns() -> Vec<String> {
    let up = "..";
    vec![
        format!("{up}/shared"),
        format!("{up}/{up}/{up}/"),
        format!("/{}/", "work"),
    ]
}

fn repo_root() -> PathBuf {
    // This crate is `tests/`, one level below the root.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .unwrap_or_else(|| panic!("{} has no parent", manifest.display()))
        .to_path_buf()
}

/// The files git tracks, relative to the repository root.
fn tracked_files(root: &Path) -> Vec<String> {
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "this test lists the tracked files with `git ls-files`, and git cannot be run: {e}"
            )
        });
    assert!(
        out.status.success(),
        "`git ls-files` failed in {} ({}): {}",
        root.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let files: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect();
    assert!(
        files.iter().any(|f| f == "Cargo.toml"),
        "`git ls-files` in {} does not list Cargo.toml: not the repository root?",
        root.display()
    );
    files
}

/// `path:line: text` for every line of `text` that contains one of `patterns`.
fn matches(path: &str, text: &str, patterns: &[String]) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| patterns.iter().any(|p| line.contains(p.as_str())))
        .map(|(i, line)| format!("{path}:{}: {}", i + 1, line.trim()))
        .collect()
}

#[test]
fn when_tracked_files_are_read_then_none_refers_to_a_path_outside_the_repository() {
    // given every tracked file
    let root = repo_root();
    let patterns = patterns();
    let mut outside = Vec::new();
    let mut pending_clean = Vec::new();
    // when each is searched
    for path in tracked_files(&root) {
        // A tracked file deleted in the working tree has nothing left to refer to.
        let Ok(bytes) = std::fs::read(root.join(&path)) else {
            continue;
        };
        let found = matches(&path, &String::from_utf8_lossy(&bytes), &patterns);
        match PENDING.iter().find(|(p, _)| *p == path) {
            Some(_) if found.is_empty() => pending_clean.push(path),
            Some(_) => {}
            None => outside.extend(found),
        }
    }
    for (path, _) in PENDING {
        if !root.join(path).is_file() {
            pending_clean.push((*path).to_owned());
        }
    }
    // then
    assert!(
        outside.is_empty(),
        "these lines refer to paths outside the repository (patterns {patterns:?}); a fresh \
         clone has nothing beside it. Use tests/fixtures (saguaro_testkit::fixture) or \
         docs/design.md instead:\n{}",
        outside.join("\n")
    );
    assert!(
        pending_clean.is_empty(),
        "no longer refer outside the repository: delete them from PENDING in {}: {pending_clean:?}",
        file!()
    );
}

#[test]
fn when_a_line_names_a_path_outside_then_it_is_reported_with_its_line_number() {
    // given one line of each kind, and two that stay inside
    let up = "..";
    let text = [
        format!("see `{up}/shared/DESIGN.md`"),
        format!("join(\"{up}/{up}/{up}/shared/fixtures\")"),
        format!("the fixtures in /{}/shared", "work"),
        format!("join(\"{up}/{up}/infra/program.example.toml\")"),
        "tests/fixtures/stripe/openapi_fixtures3/invoice.json".to_owned(),
    ]
    .join("\n");
    // when
    let found = matches("f.rs", &text, &patterns());
    // then
    let lines: Vec<&str> = found
        .iter()
        .map(|m| m.split(':').nth(1).unwrap_or_default())
        .collect();
    assert_eq!(lines, ["1", "2", "3"], "{found:?}");
}
