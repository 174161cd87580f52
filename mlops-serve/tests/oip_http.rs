//! The OIP server over real HTTP on loopback: a model trained and registered, loaded from
//! the registry (digests verified), described and queried, with errors as OIP shapes them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use arrow_array::{Float32Array, Int64Array, RecordBatch, StringArray};
use mlops_core::learn::{BurnTrainer, DeviceSpec, ModelSpec, Optimizer, TrainerConfig};
use mlops_core::{DatasetId, Digest, Factory, TrainOptions, TrainingData};
use mlops_serve::{ModelRepository, spawn};
use serde_json::{Value, json};

/// One HTTP/1.1 request; returns the status and the body.
fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status: u16 = std::str::from_utf8(&out[9..12]).unwrap().parse().unwrap();
    let head = String::from_utf8_lossy(&out[..split]).to_lowercase();
    let mut body = out[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        // Decode chunks.
        let mut decoded = Vec::new();
        let mut rest = &body[..];
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16)
                    .unwrap();
            if size == 0 {
                break;
            }
            decoded.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest = &rest[line_end + 2 + size + 2..];
        }
        body = decoded;
    }
    (status, body)
}

fn json_of(b: &[u8]) -> Value {
    serde_json::from_slice(b).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(b)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_model_is_served_over_the_open_inference_protocol() {
    let n = 200;
    let x: Vec<f32> = (0..n).map(|i| (i as f32 - 100.0) / 50.0).collect();
    let y: Vec<i64> = x.iter().map(|v| (*v > 0.0) as i64).collect();
    let colour: Vec<&str> = (0..n).map(|i| ["red", "blue"][i % 2]).collect();
    let batch = RecordBatch::try_from_iter([
        ("x", Arc::new(Float32Array::from(x)) as _),
        ("colour", Arc::new(StringArray::from(colour)) as _),
        ("y", Arc::new(Int64Array::from(y)) as _),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let factory = Factory::open(dir.path()).unwrap();
    let config = TrainerConfig::new(ModelSpec::LogisticRegression)
        .epochs(30)
        .batch_size(20)
        .optimizer(Optimizer::adam(0.05));
    let data = TrainingData {
        train: vec![batch],
        train_id: DatasetId::from_digest(Digest::of(b"toy")),
        eval: None,
        label: "y".into(),
    };
    factory
        .train(
            Arc::new(BurnTrainer::new(config)),
            data,
            TrainOptions::new("toy").seed(1).register_as("toy"),
        )
        .await
        .unwrap();
    let repo = Arc::new(ModelRepository::new(factory, DeviceSpec::Cpu));
    repo.load(&"toy@latest".parse().unwrap()).await.unwrap();
    let server = spawn(repo, "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.addr();

    let (live, _) = http(addr, "GET", "/v2/health/live", &[], b"");
    assert_eq!(live, 200);
    let (s, meta) = http(addr, "GET", "/v2/models/toy", &[], b"");
    assert_eq!(s, 200);
    let meta = json_of(&meta);
    assert_eq!(meta["versions"], json!(["1"]));
    assert_eq!(meta["inputs"][0]["datatype"], "FP32");
    assert_eq!(
        http(addr, "GET", "/v2/models/toy/versions/1/ready", &[], b"").0,
        200
    );
    assert_eq!(
        http(addr, "GET", "/v2/models/toy/versions/9/ready", &[], b"").0,
        404
    );

    // JSON inference without a Content-Type (as tritonclient sends it).
    let req = json!({"id": "42", "inputs": [
        {"name": "x", "shape": [2, 1], "datatype": "FP64", "data": [[-1.5], [1.5]]},
        {"name": "colour", "shape": [2], "datatype": "BYTES", "data": ["red", "green"]}
    ], "outputs": [{"name": "prediction"}, {"name": "probabilities"}]});
    let (s, body) = http(
        addr,
        "POST",
        "/v2/models/toy/infer",
        &[],
        req.to_string().as_bytes(),
    );
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    let resp = json_of(&body);
    assert_eq!(resp["id"], "42");
    assert_eq!(resp["model_version"], "1");
    assert_eq!(resp["outputs"][0]["name"], "prediction");
    assert_eq!(resp["outputs"][0]["data"], json!([0, 1]));
    assert_eq!(resp["outputs"][1]["shape"], json!([2, 2]));

    // The binary-data extension for inputs.
    let head = json!({"inputs": [
        {"name": "x", "shape": [1], "datatype": "FP32", "parameters": {"binary_data_size": 4}},
        {"name": "colour", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 7}}
    ]})
    .to_string();
    let mut body = head.clone().into_bytes();
    body.extend(1.5f32.to_le_bytes());
    body.extend(3u32.to_le_bytes());
    body.extend(b"red");
    let (s, out) = http(
        addr,
        "POST",
        "/v2/models/toy/versions/1/infer",
        &[("Inference-Header-Content-Length", head.len().to_string())],
        &body,
    );
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&out));
    assert_eq!(json_of(&out)["outputs"][0]["data"], json!([1]));

    // Errors: OIP's {"error": ...} with 400 naming the input, 404 for an unknown model.
    let bad = json!({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1.0]}]});
    let (s, out) = http(
        addr,
        "POST",
        "/v2/models/toy/infer",
        &[],
        bad.to_string().as_bytes(),
    );
    assert_eq!(s, 400);
    assert!(
        json_of(&out)["error"]
            .as_str()
            .unwrap()
            .contains("input x data")
    );
    let (s, out) = http(
        addr,
        "POST",
        "/v2/models/nope/infer",
        &[],
        bad.to_string().as_bytes(),
    );
    assert_eq!(s, 404);
    assert!(json_of(&out)["error"].as_str().unwrap().contains("nope"));
    server.stop();
    assert!(
        TcpStream::connect(addr).is_err(),
        "the server still accepts after stop"
    );
}
