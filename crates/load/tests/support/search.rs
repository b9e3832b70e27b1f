//! The capacity search's scenario against a stub of known capacity.

use std::path::PathBuf;

use tokenprobe_load::Plan;
use tokenprobe_load::search::Searched;

/// 3 slots of 20 ms: 150 acquisitions/s at most.
pub const KNEE: f64 = 150.0;

pub fn scenario(load: &str, thresholds: &str) -> String {
    format!(
        "target = \"stub\"\nthresholds = [{thresholds}]\n\
         [stub.jwt]\nalgorithm = \"ES256\"\n\
         [stub.faults.cess]\ncapacity = {{ slots = 3, service_ms = 20 }}\n\
         [http]\ntimeout_ms = 1000\n\
         [[flows]]\nsystem = \"cess\"\nclient_id = \"tokenprobe-demo\"\n\
         client_secret = {{ value = \"demo-secret\" }}\nusername = \"12345678909\"\n\
         otp = {{ value = \"123456\" }}\n\
         [load]\nmodel = \"search\"\n{load}"
    )
}

pub fn out_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tokenprobe-search-{name}-{}", std::process::id()))
}

pub async fn search(text: &str, name: &str) -> Searched {
    let text = format!("output = \"{}\"\n{text}", out_dir(name).display());
    let plan = Plan::parse(&text, &format!("{name}.toml"), name).unwrap();
    let (_stop, options) = super::quiet();
    tokenprobe_load::search::run(&plan, options).await.unwrap()
}
