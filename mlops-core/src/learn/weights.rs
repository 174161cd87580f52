//! Network weights as safetensors, written and read with the `safetensors` crate so the
//! tensor names and layouts are ours and stable:
//!
//! - `layers.<i>.weight`: `[inputs, outputs]`, f32 (PyTorch stores the transpose), or i8
//!   with `layers.<i>.weight_scale` (`[outputs]`, f32) in the int8 form;
//! - `layers.<i>.bias`: `[outputs]`, f32.
//!
//! The int8 form is symmetric per output column: `q = round(w / s)` with
//! `s = max|w_col| / 127`; loading multiplies back, so inference runs in f32 on weights that
//! take a quarter of the space.

use std::collections::HashMap;

use burn::tensor::{Device, Tensor};
use bytes::Bytes;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::config::ModelSpec;
use super::network::Network;
use crate::error::{Error, Result};

/// One layer's values, row-major.
pub(crate) struct LayerData {
    pub(crate) weight: Vec<f32>,
    pub(crate) inputs: usize,
    pub(crate) outputs: usize,
    pub(crate) bias: Vec<f32>,
}

fn read(t: Tensor<1>, what: &str) -> Result<Vec<f32>> {
    t.try_into_data()
        .map_err(|e| Error::Training(format!("reading {what}: {e}")))?
        .as_slice::<f32>()
        .map(<[f32]>::to_vec)
        .map_err(|e| Error::Training(format!("reading {what}: {e:?}")))
}

/// The values of every layer.
pub(crate) fn layers(net: &Network) -> Result<Vec<LayerData>> {
    net.layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let w = l.weight.val();
            let [inputs, outputs] = w.dims();
            let weight = read(w.reshape([inputs * outputs]), &format!("layer {i} weight"))?;
            let bias = match &l.bias {
                Some(b) => read(b.val(), &format!("layer {i} bias"))?,
                None => vec![0.0; outputs],
            };
            Ok(LayerData {
                weight,
                inputs,
                outputs,
                bias,
            })
        })
        .collect()
}

fn bytes_of(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn serialize(tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>, quantized: bool) -> Result<Bytes> {
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, data)| {
            TensorView::new(*dtype, shape.clone(), data)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::Training(format!("safetensors view {name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    // One metadata entry: the safetensors header stores a hash map, whose order would
    // otherwise change the bytes (and the digest) of identical weights.
    let info = serde_json::json!({
        "format": super::package::FORMAT,
        "layout": "weight[inputs,outputs]",
        "quantization": if quantized { "int8_per_channel" } else { "none" },
    });
    let meta = HashMap::from([("mlops".to_owned(), info.to_string())]);
    safetensors::serialize(views, Some(meta))
        .map(Bytes::from)
        .map_err(|e| Error::Training(format!("writing safetensors: {e}")))
}

/// The weights in f32.
pub fn save(net: &Network) -> Result<Bytes> {
    let mut tensors = Vec::new();
    for (i, l) in layers(net)?.into_iter().enumerate() {
        tensors.push((
            format!("layers.{i}.weight"),
            Dtype::F32,
            vec![l.inputs, l.outputs],
            bytes_of(&l.weight),
        ));
        tensors.push((
            format!("layers.{i}.bias"),
            Dtype::F32,
            vec![l.outputs],
            bytes_of(&l.bias),
        ));
    }
    serialize(tensors, false)
}

/// The weights in the int8 per-channel form.
pub fn save_int8(net: &Network) -> Result<Bytes> {
    let mut tensors = Vec::new();
    for (i, l) in layers(net)?.into_iter().enumerate() {
        let (q, scale) = quantize(&l.weight, l.inputs, l.outputs);
        let q: Vec<u8> = q.into_iter().map(|v| v as u8).collect();
        tensors.push((
            format!("layers.{i}.weight"),
            Dtype::I8,
            vec![l.inputs, l.outputs],
            q,
        ));
        tensors.push((
            format!("layers.{i}.weight_scale"),
            Dtype::F32,
            vec![l.outputs],
            bytes_of(&scale),
        ));
        tensors.push((
            format!("layers.{i}.bias"),
            Dtype::F32,
            vec![l.outputs],
            bytes_of(&l.bias),
        ));
    }
    serialize(tensors, true)
}

/// Symmetric per-output-column int8 quantization of a `[inputs, outputs]` matrix.
pub(crate) fn quantize(w: &[f32], inputs: usize, outputs: usize) -> (Vec<i8>, Vec<f32>) {
    let mut scale = vec![0.0f32; outputs];
    for r in 0..inputs {
        for (c, s) in scale.iter_mut().enumerate() {
            *s = s.max(w[r * outputs + c].abs());
        }
    }
    scale
        .iter_mut()
        .for_each(|s| *s = if *s > 0.0 { *s / 127.0 } else { 1.0 });
    let q = w
        .iter()
        .enumerate()
        .map(|(i, v)| (v / scale[i % outputs]).round().clamp(-127.0, 127.0) as i8)
        .collect();
    (q, scale)
}

fn f32s(view: &TensorView<'_>, name: &str) -> Result<Vec<f32>> {
    if view.dtype() != Dtype::F32 {
        return Err(bad(name, format!("{:?}", view.dtype()), "F32"));
    }
    Ok(view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

fn bad(name: &str, found: String, expected: &str) -> Error {
    Error::invalid(
        format!("safetensors tensor {name}"),
        found,
        expected.to_owned(),
    )
}

/// Reads weights (either form) into a network for `spec` with the given layer count.
pub fn load(bytes: &[u8], spec: &ModelSpec, device: &Device) -> Result<Network> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::invalid("model weights", e.to_string(), "a safetensors file"))?;
    let (hidden, _, _) = spec.layers();
    let mut data = Vec::with_capacity(hidden.len() + 1);
    for i in 0..=hidden.len() {
        let wname = format!("layers.{i}.weight");
        let w = st
            .tensor(&wname)
            .map_err(|_| Error::not_found("safetensors tensor", &wname))?;
        let &[inputs, outputs] = w.shape() else {
            return Err(bad(&wname, format!("{:?}", w.shape()), "a 2-d shape"));
        };
        let weight = match w.dtype() {
            Dtype::F32 => f32s(&w, &wname)?,
            Dtype::I8 => {
                let sname = format!("layers.{i}.weight_scale");
                let s = st
                    .tensor(&sname)
                    .map_err(|_| Error::not_found("safetensors tensor", &sname))?;
                let scale = f32s(&s, &sname)?;
                if scale.len() != outputs {
                    return Err(bad(&sname, scale.len().to_string(), "one scale per output"));
                }
                w.data()
                    .iter()
                    .enumerate()
                    .map(|(j, q)| (*q as i8) as f32 * scale[j % outputs])
                    .collect()
            }
            other => return Err(bad(&wname, format!("{other:?}"), "F32 or I8")),
        };
        let bname = format!("layers.{i}.bias");
        let b = st
            .tensor(&bname)
            .map_err(|_| Error::not_found("safetensors tensor", &bname))?;
        let bias = f32s(&b, &bname)?;
        if bias.len() != outputs {
            return Err(bad(&bname, bias.len().to_string(), "one bias per output"));
        }
        data.push(LayerData {
            weight,
            inputs,
            outputs,
            bias,
        });
    }
    Ok(Network::from_layers(spec, data, device))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int8_round_trip_is_within_half_a_step() {
        let w = vec![0.5, -1.0, 0.25, 0.1, 2.0, -0.3];
        let (q, s) = quantize(&w, 3, 2);
        for (i, v) in w.iter().enumerate() {
            let back = q[i] as f32 * s[i % 2];
            assert!((back - v).abs() <= s[i % 2] / 2.0 + 1e-7, "{v} -> {back}");
        }
        assert_eq!(q[4], 127); // the column maximum maps to 127
    }
}
