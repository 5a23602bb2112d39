//! Bundles the merchant's program file into every Lambda binary at build time (README
//! "Changing the program"): `program.toml` at the workspace root, when there is one, becomes
//! `saguaro_lambda::BUNDLED_PROGRAM`. Without it the functions are built with none and fail at
//! their first cold start, naming the file (a test build needs none).

use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let root = Path::new(&manifest).join("../..");
    let program = root.join("program.toml");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("bundled_program.rs");
    // The root directory's mtime changes when program.toml appears or goes away; the file's
    // when it is edited.
    println!("cargo::rerun-if-changed={}", root.display());
    let code = match std::fs::read_to_string(&program) {
        Ok(_) => {
            println!("cargo::rerun-if-changed={}", program.display());
            format!(
                "pub const BUNDLED_PROGRAM: Option<&str> = Some(include_str!({:?}));\n",
                program.display().to_string()
            )
        }
        Err(_) => "pub const BUNDLED_PROGRAM: Option<&str> = None;\n".to_owned(),
    };
    if let Err(e) = std::fs::write(&out, code) {
        println!("cargo::error=cannot write {}: {e}", out.display());
    }
}
