//! Configuration mistakes and risky settings, as a user meets them: an
//! error names the place, the key and the expected shape and never the
//! value found (a secret in the wrong place must not reach a CI log); a
//! `[stub]` table gets the checks `serve --config` applies; a CA file with
//! no certificate is refused; `insecure = true` and clear-text credentials
//! are warned of and recorded. No traffic leaves loopback.

use std::path::PathBuf;

mod support;
use std::process::{Command, Output};

/// In every planted value; found in no output.
const CANARY: &str = "Cnry7x9Q";
/// A number canary, for mistakes of type.
const NUMBER: &str = "987654321";

fn file(name: &str, text: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tokenprobe-cfg-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let path = d.join(format!("{name}.toml"));
    let text = format!("output = \"{}\"\n{text}", d.join("reports").display());
    std::fs::write(&path, text).unwrap();
    path
}

fn tokenprobe(args: &[&str], path: &PathBuf) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(args)
        .arg(path)
        .env("PLANTED_SECRET", format!("{CANARY}-from-env"))
        .output()
        .unwrap()
}

const FLOW: &str = "[[flows]]\nsystem = \"cognito\"\nclient_id = \"tokenprobe-demo\"\n\
                    client_secret = { value = \"demo-secret\" }\n";
const LOAD: &str = "[load]\nmodel = \"open\"\nrate = 20\n[limits]\nduration = \"1s\"\n";

/// Each kind of serde mistake, with the canary where the value goes.
fn mistakes() -> Vec<(&'static str, String)> {
    let flow = |secret: &str| {
        format!("[[flows]]\nsystem = \"cognito\"\nclient_id = \"x\"\nclient_secret = {secret}\n")
    };
    vec![
        // `${VAR}` where a table was due: unknown variant.
        (
            "unknown_variant_from_env",
            format!("target = \"stub\"\n{}{LOAD}", flow("\"${PLANTED_SECRET}\"")),
        ),
        (
            "unknown_variant",
            format!(
                "target = \"stub\"\n{}{LOAD}",
                flow(&format!("\"{CANARY}\""))
            ),
        ),
        // A number where a string was due: invalid type.
        (
            "invalid_type_number",
            format!(
                "target = \"stub\"\n{}{LOAD}",
                flow(&format!("{{ value = {NUMBER} }}"))
            ),
        ),
        (
            "invalid_type_string",
            format!(
                "target = \"stub\"\n{FLOW}[load]\nmodel = \"open\"\nrate = \"{CANARY}\"\n[limits]\nduration = \"1s\"\n"
            ),
        ),
        // Custom messages: a duration, a target, a rate out of range.
        (
            "custom_duration",
            format!(
                "target = \"stub\"\n{FLOW}[load]\nmodel = \"open\"\nrate = 1\n[limits]\nduration = \"{CANARY}\"\n"
            ),
        ),
        (
            "custom_target",
            format!("target = \"{CANARY}://x\"\n{FLOW}{LOAD}"),
        ),
        (
            "custom_rate",
            format!(
                "target = \"stub\"\n{FLOW}[load]\nmodel = \"open\"\nrate = {NUMBER}{NUMBER}\n[limits]\nduration = \"1s\"\n"
            ),
        ),
        // Invalid length: a tuple of the wrong size in the stub's config.
        (
            "stub_invalid_value",
            format!(
                "target = \"stub\"\n[stub.faults.cognito]\nerror = {{ probability = 0.5, status = {NUMBER} }}\n{FLOW}{LOAD}"
            ),
        ),
        (
            "stub_unknown_route",
            format!("target = \"stub\"\n[stub.faults.{CANARY}]\nquirks = []\n{FLOW}{LOAD}"),
        ),
        // A value that holds serde's own punctuation.
        (
            "unknown_variant_punctuated",
            format!(
                "target = \"stub\"\n{}{LOAD}",
                flow(&format!("\"ab`{CANARY}`, expected {CANARY}\""))
            ),
        ),
        (
            "cess_username",
            format!(
                "target = \"stub\"\n[[flows]]\nsystem = \"cess\"\nclient_id = \"x\"\n\
                 client_secret = {{ value = \"s\" }}\nusername = \"{NUMBER}12\"\notp = {{ value = \"1\" }}\n{LOAD}"
            ),
        ),
    ]
}

/// Where each mistake is reported, and how it starts.
fn place(name: &str) -> &'static str {
    match name {
        "unknown_variant_from_env" | "unknown_variant" | "unknown_variant_punctuated" => {
            "3:1: unknown variant, expected one of `env`, `file`, `value` (at client_secret)"
        }
        "invalid_type_number" => {
            "3:1: invalid type: integer, expected a string (at client_secret.value)"
        }
        "invalid_type_string" => "7:1: invalid type: string, expected f64",
        "custom_duration" => "11:12: expected a duration such as",
        "custom_target" => "2:10: target: expected `stub` or a base URL",
        "custom_rate" => "7:1: a rate is from 0 to 1000000 per second",
        "stub_invalid_value" => "4:39: invalid value: integer, expected u16",
        "stub_unknown_route" => "3:14: unknown route …; expected `all` or one of: cognito",
        "cess_username" => "flow cess: refused: username: the check digits do not match (CE-03)",
        other => panic!("no place for {other}"),
    }
}

#[test]
fn no_config_error_echoes_the_value_it_found() {
    for (name, text) in mistakes() {
        let path = file(name, &text);
        // `check` takes a load scenario as it is and does not read [load]/[limits].
        let load_only = text.contains("[load]\nmodel = \"open\"\nrate = \"")
            || name == "custom_duration"
            || name == "custom_rate"
            || name == "cess_username";
        let commands: &[&[&str]] = if load_only {
            &[&["load", "--quiet"]]
        } else {
            &[&["load", "--quiet"], &["check"]]
        };
        for cmd in commands {
            let out = tokenprobe(cmd, &path);
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.status.code(), Some(2), "{name} {cmd:?}: {all}");
            // The mistake itself, at its place with its key: not another
            // one the scenario made first (a flow's own rules, checked when
            // the flow is built, name the flow instead of a place).
            let expected = match place(name).strip_prefix("flow ") {
                Some(_) => place(name).to_owned(),
                None => format!("{name}.toml:{}", place(name)),
            };
            assert!(
                all.contains(&expected),
                "{name} {cmd:?}: {expected} not in {all}"
            );
            assert!(
                !all.contains(CANARY),
                "{name} {cmd:?} echoed the value: {all}"
            );
            assert!(
                !all.contains(NUMBER),
                "{name} {cmd:?} echoed the value: {all}"
            );
        }
    }
}

#[test]
fn a_stub_table_in_a_scenario_gets_the_serve_checks() {
    for (name, stub) in [
        (
            "quirk_wrong_route",
            "[stub.faults.cognito]\nquirks = [\"wrong-org\"]\n",
        ),
        (
            "stall_backwards",
            "[stub.faults.cognito]\nstall_window = { from_ms = 3000, until_ms = 1000 }\n",
        ),
    ] {
        let path = file(name, &format!("target = \"stub\"\n{stub}{FLOW}{LOAD}"));
        for cmd in [&["load", "--quiet"][..], &["check"][..]] {
            let out = tokenprobe(cmd, &path);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{name} {cmd:?}: {err}");
            assert!(
                err.contains(&format!("{name}.toml:4:")),
                "{name} {cmd:?}: {err}"
            );
        }
    }
}

#[test]
fn a_ca_file_with_no_certificate_is_a_config_error_naming_it() {
    let dir = std::env::temp_dir().join(format!("tokenprobe-cfg-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("empty-ca.pem");
    std::fs::write(&ca, "not a certificate\n").unwrap();
    let path = file(
        "ca_empty",
        &format!(
            "target = \"stub\"\n[http]\nca_file = \"{}\"\n{FLOW}{LOAD}",
            ca.display()
        ),
    );
    for cmd in [&["load", "--quiet"][..], &["check"][..]] {
        let out = tokenprobe(cmd, &path);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {err}");
        assert!(
            err.contains("empty-ca.pem") && err.contains("no PEM certificate"),
            "{cmd:?}: {err}"
        );
    }
}

#[test]
fn insecure_is_warned_of_and_recorded() {
    let path = file(
        "insecure",
        &format!("target = \"stub\"\n[http]\ninsecure = true\n{FLOW}{LOAD}"),
    );
    let out = tokenprobe(&["load", "--quiet"], &path);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains("warning: TLS certificate verification is OFF"),
        "{stderr}"
    );
    let summary = support::summary(&support::report_dir(&stdout));
    assert_eq!(summary["insecure"], true);
    assert!(
        summary["warnings"][0]
            .as_str()
            .unwrap()
            .contains("verification is OFF")
    );

    let json = path.with_extension("json");
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["check", "--json"])
        .arg(&json)
        .arg(&path)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("verification is OFF"));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(doc["report"]["insecure"], true, "{doc}");
}

#[test]
fn credentials_in_clear_to_another_machine_are_warned_of() {
    // Only parsed: the dead port on loopback refuses at once, and the
    // warning about the other host comes before any request.
    let path = file(
        "cleartext",
        "target = \"http://127.0.0.1:9\"\n[[flows]]\nsystem = \"cognito\"\n\
         base_url = \"http://idp.example.invalid\"\nclient_id = \"x\"\nclient_secret = { value = \"s\" }\n\
         [load]\nmodel = \"open\"\nrate = 1\n[limits]\nacquisitions = 0\nduration = \"1s\"\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["check", "--only", "RFC-99"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("http://idp.example.invalid: plain http to another machine"),
        "{err}"
    );
    assert!(!err.contains("127.0.0.1:9: plain http"), "{err}");
}
