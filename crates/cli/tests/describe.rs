//! The binary describes itself to shells and to `man`: a completion
//! script for each shell clap_complete knows, and roff man pages (the
//! binary's, naming every subcommand `--help` lists, and each
//! subcommand's).

use std::process::Command;

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(args)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

/// The subcommands, as `tokenprobe --help` lists them (the reference the
/// generated files are held to).
fn subcommands() -> Vec<String> {
    let (ok, help) = run(&["--help"]);
    assert!(ok);
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_shell_gets_a_script_naming_every_subcommand() {
    let commands = subcommands();
    assert!(commands.len() >= 8, "{commands:?}");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (ok, script) = run(&["completions", shell]);
        assert!(ok, "{shell}");
        for c in &commands {
            assert!(script.contains(c.as_str()), "{shell}: no {c}");
        }
    }
    let (ok, _) = run(&["completions", "tcsh"]);
    assert!(!ok, "an unknown shell is refused");
}

#[test]
fn the_man_pages_are_roff_one_per_subcommand() {
    let (ok, page) = run(&["man"]);
    assert!(ok);
    assert!(page.contains(".TH tokenprobe 1"), "{page}");
    assert!(
        page.contains(".SH NAME") && page.contains(".SH SUBCOMMANDS"),
        "{page}"
    );
    for c in subcommands() {
        assert!(
            page.contains(&format!("tokenprobe\\-{c}(1)")),
            "no {c} in\n{page}"
        );
        // The page it refers to, with the subcommand's own options.
        let (ok, own) = run(&["man", &c]);
        assert!(ok, "{c}");
        assert!(own.contains(&format!(".TH tokenprobe-{c} 1")), "{own}");
    }
    let (ok, own) = run(&["man", "load"]);
    assert!(ok && own.contains("\\-\\-duration"), "{own}");
    assert!(!run(&["man", "nonesuch"]).0);
}
