//! The Kubernetes manifests parse as YAML, run an Indexed Job whose shard
//! count matches `--shard`, and use only flags the binary accepts.

use std::process::Command;

use yaml_rust2::YamlLoader;

#[test]
fn the_manifests_parse_and_name_only_real_flags() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/kubernetes");
    let text = std::fs::read_to_string(root.join("tokenprobe-job.yaml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("the manifests are YAML");
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        ["ConfigMap", "Secret", "PersistentVolumeClaim", "Job"]
    );

    let job = docs
        .iter()
        .find(|d| d["kind"].as_str() == Some("Job"))
        .unwrap();
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let n = spec["completions"].as_i64().unwrap();
    assert_eq!(spec["parallelism"].as_i64(), Some(n));
    let container = &spec["template"]["spec"]["containers"][0];
    let script = container["args"][0].as_str().unwrap();
    assert!(
        script.contains(&format!("+ 1))/{n}\"")),
        "--shard I/{n} in: {script}"
    );

    // The scenario in the ConfigMap is a scenario.
    let scenario = docs[0]["data"]["scenario.toml"].as_str().unwrap();
    let filled = scenario
        .replace("${COGNITO_URL}", "https://staging.example")
        .replace("${COGNITO_CLIENT_ID}", "id");
    tokenprobe_load::Plan::parse(&filled, "configmap", "staging").unwrap();

    // Every flag the Job passes to `tokenprobe load` exists.
    let help = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["load", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let flags: Vec<&str> = script
        .split_whitespace()
        .filter(|w| w.starts_with("--"))
        .collect();
    assert!(flags.len() >= 5, "{flags:?}");
    for flag in flags {
        assert!(
            help.contains(flag),
            "{flag} is not a flag of `tokenprobe load`"
        );
    }
}
