//! Renders the README's guided tour (between `<!-- tour:start` and `<!-- tour:end -->`) as part of
//! the crate's rustdoc, so the tour on docs.rs is the README's, and its examples run as doc tests.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=README.md");
    let readme = std::fs::read_to_string("README.md").unwrap_or_else(|e| {
        panic!("build.rs: reading README.md: {e}");
    });
    let start = readme
        .find("<!-- tour:start")
        .and_then(|at| readme[at..].find('\n').map(|end| at + end + 1))
        .expect("build.rs: README.md has no `<!-- tour:start` marker");
    let end = readme[start..]
        .find("<!-- tour:end -->")
        .map(|len| start + len)
        .expect("build.rs: README.md has no `<!-- tour:end -->` marker");
    // Every Rust example of the README must be in the tour: the tour is how they are tested.
    let outside =
        readme[..start].matches("```rust").count() + readme[end..].matches("```rust").count();
    assert!(
        outside == 0,
        "build.rs: {outside} ```rust example(s) of README.md are outside the tour markers"
    );
    // One level down: the tour's `##` sections sit under the crate documentation's headings.
    let mut tour = String::from(
        "\n## Guided tour\n\nThe README's tour of the library, rendered here from the README \
         itself; its examples run as doc tests. The README goes on with the CLI and the token \
         service.\n\n",
    );
    tour += &readme[start..end]
        .lines()
        .map(|line| {
            if line.starts_with('#') && !line.starts_with("# ") {
                format!("#{line}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect::<String>();
    let out = std::env::var_os("OUT_DIR").expect("build.rs: OUT_DIR is set by cargo");
    std::fs::write(Path::new(&out).join("tour.md"), tour).expect("build.rs: writing tour.md");
}
