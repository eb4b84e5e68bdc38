//! Sharing host directories with the VM.

use std::path::Path;

use crate::quote::sh_quote;

/// The command that shares `dir` with `vm`, for messages.
pub fn suggestion(vm: &str, dir: &Path) -> String {
    let mut spec = dir.as_os_str().as_encoded_bytes().to_vec();
    spec.extend_from_slice(b":w");
    format!(
        "limactl stop {vm} && limactl edit {vm} --mount {} && limactl start {vm}",
        sh_quote(&spec)
    )
}
