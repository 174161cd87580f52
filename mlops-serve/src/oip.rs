//! The Open Inference Protocol's tensors: an inference request (JSON, or JSON followed by
//! raw tensors with Triton's binary-data extension) decoded into the model's input columns,
//! and the model's output columns encoded as response tensors.
//!
//! A tabular model takes one value per row for each input: a tensor of shape `[n]` or
//! `[n, 1]`. Values are read into the type the model's signature declares (`float` →
//! `Float32`, `string` → `Utf8`, ...), so a client may send `FP64` for a `float` column;
//! a string column needs `BYTES` and a boolean column `BOOL`.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use mlops_core::learn::Signature;
use mlops_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One input tensor of a request.
#[derive(Clone, Debug, Deserialize)]
pub struct RequestInput {
    /// Tensor (column) name.
    pub name: String,
    /// Shape; the first dimension is the batch.
    pub shape: Vec<i64>,
    /// OIP datatype.
    pub datatype: String,
    /// Row-major values (flat or nested); absent when sent as binary data.
    #[serde(default)]
    pub data: Option<Value>,
    /// Parameters (`binary_data_size` for the binary extension).
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
}

/// One requested output.
#[derive(Clone, Debug, Deserialize)]
pub struct RequestOutput {
    /// Output name.
    pub name: String,
}

/// An inference request.
#[derive(Clone, Debug, Deserialize)]
pub struct InferRequest {
    /// Echoed in the response.
    #[serde(default)]
    pub id: Option<String>,
    /// Input tensors.
    pub inputs: Vec<RequestInput>,
    /// Outputs to return (all when absent).
    #[serde(default)]
    pub outputs: Option<Vec<RequestOutput>>,
}

/// One output tensor of a response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseOutput {
    /// Output name.
    pub name: String,
    /// Shape.
    pub shape: Vec<i64>,
    /// OIP datatype.
    pub datatype: String,
    /// Row-major values.
    pub data: Vec<Value>,
}

/// An inference response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InferResponse {
    /// The model.
    pub model_name: String,
    /// Its version.
    pub model_version: String,
    /// The request's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Output tensors.
    pub outputs: Vec<ResponseOutput>,
}

fn bad(what: impl Into<String>, got: impl Into<String>, expected: impl Into<String>) -> Error {
    Error::invalid(what.into(), got.into(), expected.into())
}

/// Parses a request body: plain JSON, or with `json_len` (the
/// `Inference-Header-Content-Length` header) JSON followed by binary tensors. Returns the
/// request and each input's binary data, in input order.
pub fn parse_request(
    body: &[u8],
    json_len: Option<usize>,
) -> Result<(InferRequest, Vec<Option<Vec<u8>>>)> {
    let (head, mut rest) = match json_len {
        Some(n) if n <= body.len() => body.split_at(n),
        Some(n) => {
            return Err(bad(
                "Inference-Header-Content-Length",
                n.to_string(),
                format!("at most the body's {} bytes", body.len()),
            ));
        }
        None => (body, &[][..]),
    };
    let req: InferRequest = serde_json::from_slice(head).map_err(|e| {
        bad(
            "inference request JSON",
            e.to_string(),
            "an OIP inference request",
        )
    })?;
    let mut binary = Vec::with_capacity(req.inputs.len());
    for input in &req.inputs {
        let size = input
            .parameters
            .as_ref()
            .and_then(|p| p.get("binary_data_size"))
            .and_then(Value::as_u64);
        match size {
            Some(n) => {
                let n = n as usize;
                if n > rest.len() {
                    return Err(bad(
                        format!("input {} binary_data_size", input.name),
                        n.to_string(),
                        format!("at most the {} bytes left in the body", rest.len()),
                    ));
                }
                let (data, tail) = rest.split_at(n);
                binary.push(Some(data.to_vec()));
                rest = tail;
            }
            None => binary.push(None),
        }
    }
    Ok((req, binary))
}

fn flatten(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other.clone()),
    }
}

/// The values of a binary tensor, as JSON values.
fn decode_binary(name: &str, datatype: &str, bytes: &[u8]) -> Result<Vec<Value>> {
    let fixed = |width: usize| -> Result<std::slice::ChunksExact<'_, u8>> {
        if !bytes.len().is_multiple_of(width) {
            return Err(bad(
                format!("input {name} binary data"),
                format!("{} bytes", bytes.len()),
                format!("a multiple of {width} bytes for {datatype}"),
            ));
        }
        Ok(bytes.chunks_exact(width))
    };
    let arr = |c: &[u8], w: usize| -> [u8; 8] {
        let mut b = [0u8; 8];
        b[..w].copy_from_slice(c);
        b
    };
    Ok(match datatype {
        "FP32" => fixed(4)?
            .map(|c| Value::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64))
            .collect(),
        "FP64" => fixed(8)?
            .map(|c| Value::from(f64::from_le_bytes(arr(c, 8))))
            .collect(),
        "INT32" => fixed(4)?
            .map(|c| Value::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        "INT64" => fixed(8)?
            .map(|c| Value::from(i64::from_le_bytes(arr(c, 8))))
            .collect(),
        "BOOL" => bytes.iter().map(|b| Value::from(*b != 0)).collect(),
        "BYTES" => {
            let mut out = Vec::new();
            let mut at = 0;
            while at < bytes.len() {
                let len_bytes = bytes.get(at..at + 4).ok_or_else(|| {
                    bad(
                        format!("input {name} BYTES"),
                        "a truncated length",
                        "4-byte lengths",
                    )
                })?;
                let len =
                    u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]])
                        as usize;
                let s = bytes.get(at + 4..at + 4 + len).ok_or_else(|| {
                    bad(
                        format!("input {name} BYTES"),
                        "a truncated element",
                        "complete elements",
                    )
                })?;
                out.push(Value::from(String::from_utf8_lossy(s).into_owned()));
                at += 4 + len;
            }
            out
        }
        other => {
            return Err(bad(
                format!("input {name} datatype"),
                other,
                "BOOL, INT32, INT64, FP32, FP64 or BYTES",
            ));
        }
    })
}

fn column(name: &str, kind: &str, datatype: &str, values: &[Value]) -> Result<ArrayRef> {
    let numeric = matches!(
        datatype,
        "INT8"
            | "INT16"
            | "INT32"
            | "INT64"
            | "UINT8"
            | "UINT16"
            | "UINT32"
            | "UINT64"
            | "FP16"
            | "FP32"
            | "FP64"
    );
    let need = |ok: bool, expected: &str| -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(bad(
                format!("input {name} datatype"),
                datatype,
                format!("{expected} (the model's `{kind}` column)"),
            ))
        }
    };
    let num = |v: &Value| -> Result<Option<f64>> {
        match v {
            Value::Null => Ok(None),
            Value::Number(n) => Ok(n.as_f64()),
            other => Err(bad(
                format!("input {name} value"),
                other.to_string(),
                "a number",
            )),
        }
    };
    Ok(match kind {
        "float" | "double" | "integer" | "long" => {
            need(numeric, "a numeric datatype")?;
            let xs = values.iter().map(num).collect::<Result<Vec<_>>>()?;
            match kind {
                "float" => Arc::new(Float32Array::from_iter(
                    xs.iter().map(|x| x.map(|v| v as f32)),
                )),
                "double" => Arc::new(Float64Array::from(xs)),
                "integer" => Arc::new(Int32Array::from_iter(
                    xs.iter().map(|x| x.map(|v| v as i32)),
                )),
                _ => Arc::new(Int64Array::from_iter(
                    xs.iter().map(|x| x.map(|v| v as i64)),
                )),
            }
        }
        "string" => {
            need(datatype == "BYTES", "BYTES")?;
            let xs = values
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(None),
                    Value::String(s) => Ok(Some(s.as_str())),
                    other => Err(bad(
                        format!("input {name} value"),
                        other.to_string(),
                        "a string",
                    )),
                })
                .collect::<Result<Vec<_>>>()?;
            Arc::new(StringArray::from(xs))
        }
        "boolean" => {
            need(datatype == "BOOL", "BOOL")?;
            let xs = values
                .iter()
                .map(|v| match v {
                    Value::Null => Ok(None),
                    Value::Bool(b) => Ok(Some(*b)),
                    other => Err(bad(
                        format!("input {name} value"),
                        other.to_string(),
                        "a boolean",
                    )),
                })
                .collect::<Result<Vec<_>>>()?;
            Arc::new(BooleanArray::from(xs))
        }
        other => {
            return Err(bad(
                format!("model input {name} type"),
                other,
                "boolean, integer, long, float, double or string",
            ));
        }
    })
}

fn arrow_type(kind: &str) -> DataType {
    match kind {
        "float" => DataType::Float32,
        "double" => DataType::Float64,
        "integer" => DataType::Int32,
        "long" => DataType::Int64,
        "boolean" => DataType::Boolean,
        _ => DataType::Utf8,
    }
}

/// The model's input columns from a request, typed by its signature. An input the model
/// does not have, a missing required input, a shape that is not one value per row, or
/// inputs of different lengths are errors naming the input.
pub fn decode_inputs(
    req: &InferRequest,
    binary: &[Option<Vec<u8>>],
    signature: &Signature,
) -> Result<RecordBatch> {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    let mut rows: Option<usize> = None;
    for (i, input) in req.inputs.iter().enumerate() {
        let spec = signature
            .inputs
            .iter()
            .find(|c| c.name == input.name)
            .ok_or_else(|| {
                let names: Vec<&str> = signature.inputs.iter().map(|c| c.name.as_str()).collect();
                bad(
                    "input",
                    &input.name,
                    format!("one of the model's inputs: {}", names.join(", ")),
                )
            })?;
        let n = match input.shape.as_slice() {
            [n] | [n, 1] if *n >= 0 => *n as usize,
            other => {
                return Err(bad(
                    format!("input {} shape", input.name),
                    format!("{other:?}"),
                    "[n] or [n, 1]: one value per row",
                ));
            }
        };
        let values = match (binary.get(i).and_then(Option::as_ref), &input.data) {
            (Some(bytes), _) => decode_binary(&input.name, &input.datatype, bytes)?,
            (None, Some(data)) => {
                let mut v = Vec::with_capacity(n);
                flatten(data, &mut v);
                v
            }
            (None, None) => {
                return Err(bad(
                    format!("input {}", input.name),
                    "no data",
                    "`data`, or binary data with `binary_data_size`",
                ));
            }
        };
        if values.len() != n {
            return Err(bad(
                format!("input {} data", input.name),
                format!("{} values", values.len()),
                format!("{n} values, as its shape says"),
            ));
        }
        if let Some(r) = rows
            && r != n
        {
            return Err(bad(
                format!("input {} rows", input.name),
                n.to_string(),
                format!("{r}, as the other inputs"),
            ));
        }
        rows = Some(n);
        columns.push(column(&input.name, &spec.kind, &input.datatype, &values)?);
        fields.push(Field::new(&input.name, arrow_type(&spec.kind), true));
    }
    if let Some(missing) = signature
        .inputs
        .iter()
        .find(|c| c.required && !req.inputs.iter().any(|i| i.name == c.name))
    {
        return Err(bad(
            "inputs",
            format!("no {}", missing.name),
            "every required input of the model",
        ));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| bad("inputs", e.to_string(), "columns of one length"))
}

/// Output tensors of a predicted batch (all, or those `wanted`, in the order asked).
pub fn encode_outputs(
    batch: &RecordBatch,
    wanted: Option<&[RequestOutput]>,
) -> Result<Vec<ResponseOutput>> {
    let n = batch.num_rows() as i64;
    let encode = |name: &str, a: &ArrayRef| -> Result<ResponseOutput> {
        let f = |x: Option<f64>| x.map_or(Value::Null, Value::from);
        let (datatype, shape, data): (&str, Vec<i64>, Vec<Value>) = match a.data_type() {
            DataType::Int64 => (
                "INT64",
                vec![n],
                a.as_primitive::<Int64Type>()
                    .iter()
                    .map(|x| x.map_or(Value::Null, Value::from))
                    .collect(),
            ),
            DataType::Int32 => (
                "INT32",
                vec![n],
                a.as_primitive::<Int32Type>()
                    .iter()
                    .map(|x| x.map_or(Value::Null, Value::from))
                    .collect(),
            ),
            DataType::Float64 => (
                "FP64",
                vec![n],
                a.as_primitive::<Float64Type>().iter().map(f).collect(),
            ),
            DataType::Float32 => (
                "FP32",
                vec![n],
                a.as_primitive::<Float32Type>()
                    .iter()
                    .map(|x| f(x.map(f64::from)))
                    .collect(),
            ),
            DataType::Utf8 => (
                "BYTES",
                vec![n],
                a.as_string::<i32>()
                    .iter()
                    .map(|x| x.map_or(Value::Null, Value::from))
                    .collect(),
            ),
            DataType::Boolean => (
                "BOOL",
                vec![n],
                a.as_boolean()
                    .iter()
                    .map(|x| x.map_or(Value::Null, Value::from))
                    .collect(),
            ),
            DataType::FixedSizeList(_, k) => {
                let list = a.as_fixed_size_list();
                let values = list.values();
                let data = match values.data_type() {
                    DataType::Float32 => values
                        .as_primitive::<Float32Type>()
                        .iter()
                        .map(|x| f(x.map(f64::from)))
                        .collect(),
                    DataType::Float64 => {
                        values.as_primitive::<Float64Type>().iter().map(f).collect()
                    }
                    other => {
                        return Err(bad(
                            format!("output {name}"),
                            other.to_string(),
                            "a list of floats",
                        ));
                    }
                };
                ("FP32", vec![n, i64::from(*k)], data)
            }
            other => {
                return Err(bad(
                    format!("output {name} type"),
                    other.to_string(),
                    "a numeric, string or boolean column",
                ));
            }
        };
        Ok(ResponseOutput {
            name: name.to_owned(),
            shape,
            datatype: datatype.to_owned(),
            data,
        })
    };
    let schema = batch.schema();
    match wanted {
        None => schema
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(fld, a)| encode(fld.name(), a))
            .collect(),
        Some(ws) => ws
            .iter()
            .map(|w| {
                let a = batch.column_by_name(&w.name).ok_or_else(|| {
                    let names: Vec<&str> =
                        schema.fields().iter().map(|f| f.name().as_str()).collect();
                    bad(
                        "requested output",
                        &w.name,
                        format!("one of {}", names.join(", ")),
                    )
                })?;
                encode(&w.name, a)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use mlops_core::learn::package::ColumnSpec;

    use super::*;

    fn signature() -> Signature {
        let spec = |name: &str, kind: &str, required| ColumnSpec {
            name: name.into(),
            kind: kind.into(),
            required,
        };
        Signature {
            inputs: vec![spec("x", "float", false), spec("plan", "string", true)],
            outputs: vec![],
        }
    }

    #[test]
    fn json_and_binary_inputs_decode_to_the_signature_types() {
        let body =
            br#"{"inputs":[{"name":"x","shape":[2,1],"datatype":"FP64","data":[[1.5],[2.5]]},
            {"name":"plan","shape":[2],"datatype":"BYTES","data":["a","b"]}]}"#;
        let (req, bin) = parse_request(body, None).unwrap();
        let b = decode_inputs(&req, &bin, &signature()).unwrap();
        assert_eq!(b.schema().field(0).data_type(), &DataType::Float32);
        assert_eq!(b.column(0).as_primitive::<Float32Type>().value(1), 2.5);

        let json = br#"{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},{"name":"plan","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":10}}]}"#;
        let mut body = json.to_vec();
        body.extend(1.5f32.to_le_bytes());
        body.extend(2.5f32.to_le_bytes());
        for s in ["a", "b"] {
            body.extend(1u32.to_le_bytes());
            body.extend(s.as_bytes());
        }
        let (req, bin) = parse_request(&body, Some(json.len())).unwrap();
        let b = decode_inputs(&req, &bin, &signature()).unwrap();
        assert_eq!(b.column(1).as_string::<i32>().value(1), "b");
        assert_eq!(b.column(0).as_primitive::<Float32Type>().value(0), 1.5);
    }

    #[test]
    fn bad_requests_are_errors_naming_the_input() {
        let cases = [
            (
                r#"{"inputs":[{"name":"y","shape":[1],"datatype":"FP32","data":[1]}]}"#,
                "y",
            ),
            (
                r#"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}"#,
                "plan",
            ),
            (
                r#"{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1]}]}"#,
                "shape",
            ),
            (
                r#"{"inputs":[{"name":"plan","shape":[1],"datatype":"FP32","data":[1]}]}"#,
                "BYTES",
            ),
            (
                r#"{"inputs":[{"name":"plan","shape":[2],"datatype":"BYTES","data":["a"]}]}"#,
                "2 values",
            ),
            (r#"{"inputs": 3}"#, "JSON"),
        ];
        for (body, needle) in cases {
            let err = parse_request(body.as_bytes(), None)
                .and_then(|(r, b)| decode_inputs(&r, &b, &signature()))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{body}: {err}");
        }
    }
}
