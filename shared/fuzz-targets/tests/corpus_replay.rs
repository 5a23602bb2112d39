//! The corpus replay (README "Fuzzing"): every file under `shared/fuzz-targets/fuzz/corpus/<target>/` goes
//! through its target's body, on stable Rust, in the normal test suite, so that an input the
//! fuzzer once crashed on stays fixed. A target's body panics on a bug; the test names the
//! file.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use saguaro_fuzz_targets::TARGETS;

/// A corpus smaller than this would make the replay a formality.
const MIN_FILES_PER_TARGET: usize = 10;

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")
}

#[test]
fn when_every_corpus_file_is_replayed_through_its_target_then_none_panics() {
    let root = corpus_root();
    let mut failures = Vec::new();
    for (target, body) in TARGETS {
        let dir = root.join(target);
        let entries = fs::read_dir(&dir).unwrap_or_else(|e| {
            panic!(
                "corpus {} is missing ({e}): see README \"Fuzzing\"",
                dir.display()
            )
        });
        let mut files = 0;
        for entry in entries {
            let path = entry.expect("a readable corpus entry").path();
            let data = fs::read(&path).expect("a readable corpus file");
            files += 1;
            if catch_unwind(AssertUnwindSafe(|| body(&data))).is_err() {
                failures.push(path.display().to_string());
            }
        }
        assert!(
            files >= MIN_FILES_PER_TARGET,
            "{target}: only {files} corpus files in {} (want at least {MIN_FILES_PER_TARGET})",
            dir.display()
        );
        eprintln!("{target}: {files} files replayed");
    }
    assert!(failures.is_empty(), "inputs that panic: {failures:#?}");
}

#[test]
fn when_a_target_is_listed_then_it_has_a_fuzz_target_and_a_corpus_and_no_corpus_is_orphaned() {
    let known: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    for entry in fs::read_dir(corpus_root()).expect("shared/fuzz-targets/fuzz/corpus") {
        let name = entry
            .expect("an entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(
            known.contains(&name.as_str()),
            "shared/fuzz-targets/fuzz/corpus/{name} has no target in TARGETS"
        );
    }
    for name in known {
        let target = corpus_root().join(format!("../fuzz_targets/{name}.rs"));
        assert!(target.exists(), "{name} has no {}", target.display());
    }
}
