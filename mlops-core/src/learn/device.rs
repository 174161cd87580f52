//! Maps a [`DeviceSpec`] to a burn device; a backend left out of the build is a clear error.

use burn::tensor::Device;

use super::config::DeviceSpec;
use crate::error::{Error, Result};

/// The burn device for `spec`.
pub fn burn_device(spec: DeviceSpec) -> Result<Device> {
    match spec {
        DeviceSpec::Cpu => Ok(Device::flex()),
        #[cfg(feature = "cuda")]
        DeviceSpec::Cuda(index) => Ok(Device::cuda(index)),
        #[cfg(not(feature = "cuda"))]
        DeviceSpec::Cuda(_) => Err(Error::NotSupported(
            "device cuda: build mlops-core with the `cuda` feature".into(),
        )),
        #[cfg(feature = "wgpu")]
        DeviceSpec::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(not(feature = "wgpu"))]
        DeviceSpec::Wgpu => Err(Error::NotSupported(
            "device wgpu: build mlops-core with the `wgpu` feature".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(not(feature = "cuda"))]
    fn a_backend_left_out_of_the_build_is_named() {
        let err = burn_device(DeviceSpec::Cuda(0)).unwrap_err().to_string();
        assert!(err.contains("`cuda` feature"), "{err}");
    }
}
