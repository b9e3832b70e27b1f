//! `tokenprobe new` writes scenarios that run as written against the
//! built-in stub (each system, each client-authentication method, for
//! `load` and for `check`), whose every commented-out key is one the
//! scenario takes, and that never overwrite a file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the binary from the repository's root (where the demo key is).
fn tokenprobe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tokenprobe-new-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const TEMPLATES: [&[&str]; 8] = [
    &["cognito"],
    &["cognito", "--auth", "client_secret_post"],
    &["cognito", "--auth", "client_secret_jwt"],
    &["cognito", "--auth", "private_key_jwt"],
    &["cess"],
    &["venafi"],
    &["veeva"],
    &["vcd"],
];

fn text(template: &[&str]) -> String {
    let out = tokenprobe(&[&["new"], template].concat());
    assert!(out.status.success(), "{template:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_template_runs_as_written_against_the_stub() {
    let d = dir("run");
    for (i, template) in TEMPLATES.iter().enumerate() {
        for check in [false, true] {
            let file = d.join(format!("{i}-{check}.toml"));
            let file = file.to_str().unwrap();
            let mut args = vec!["new"];
            args.extend_from_slice(template);
            args.extend(["--out", file]);
            if check {
                args.push("--check");
            }
            let made = tokenprobe(&args);
            assert!(made.status.success(), "{args:?}");
            let reports = d.join("reports");
            let run = match check {
                true => tokenprobe(&["check", file]),
                false => tokenprobe(&[
                    "load",
                    file,
                    "--duration",
                    "1s",
                    "-q",
                    "--output",
                    reports.to_str().unwrap(),
                ]),
            };
            assert!(
                run.status.success(),
                "{args:?}\n{}\n{}",
                String::from_utf8_lossy(&run.stdout),
                String::from_utf8_lossy(&run.stderr)
            );
        }
    }
    let _ = std::fs::remove_dir_all(d);
}

/// Each `# key = value` line, uncommented alone, still parses: the
/// template shows no key the scenario would refuse.
#[test]
fn every_optional_key_shown_is_one_the_scenario_takes() {
    for template in TEMPLATES {
        let text = text(template);
        let optional: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| {
                l.strip_prefix("# ")
                    .and_then(|rest| rest.split_once(" = "))
                    .is_some_and(|(key, _)| key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            })
            .map(|(i, _)| i)
            .collect();
        assert!(optional.len() >= 4, "{template:?}");
        for i in optional {
            let one: Vec<&str> = text
                .lines()
                .enumerate()
                .map(|(j, l)| if j == i { &l[2..] } else { l })
                .collect();
            let one = one.join("\n");
            if let Err(e) = tokenprobe_load::Plan::parse(&one, "new.toml", "new") {
                panic!("{template:?}, line {}: {e}", i + 1);
            }
        }
    }
}

#[test]
fn it_lists_what_it_knows_and_refuses_what_it_does_not() {
    let out = tokenprobe(&["new", "--list"]);
    let list = String::from_utf8(out.stdout).unwrap();
    for name in [
        "cognito",
        "cess",
        "venafi",
        "veeva",
        "vcd",
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
    ] {
        assert!(list.contains(name), "{name}: {list}");
    }
    assert!(!tokenprobe(&["new", "keycloak"]).status.success());
    assert!(
        !tokenprobe(&["new", "cess", "--auth", "client_secret_jwt"])
            .status
            .success()
    );
    assert!(
        !tokenprobe(&["new", "cognito", "--auth", "client_secret_jws"])
            .status
            .success()
    );
    // An existing file is left as it was.
    let d = dir("keep");
    let file = d.join("s.toml");
    std::fs::write(&file, "mine").unwrap();
    let out = tokenprobe(&["new", "cess", "--out", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    let _ = std::fs::remove_dir_all(d);
}
