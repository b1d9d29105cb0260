//! The Workload API's Unix socket: stale-socket removal, binding, mode.

use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::Path;

use tokio::net::UnixListener;

use crate::error::WorkloadError;

/// The socket's mode: any local user may connect. Access is decided per
/// connection by attestation, and workloads usually run as other users
/// than the server; a process that matches no entry gets nothing.
pub const SOCKET_MODE: u32 = 0o666;

/// Binds `path`, first removing a stale socket left by a server that is no
/// longer running. A live socket (one that accepts a connection) and
/// anything that is not a socket are left alone and reported.
pub(crate) async fn bind(path: &Path) -> Result<UnixListener, WorkloadError> {
    let socket_error = |action: &'static str| {
        move |source: std::io::Error| WorkloadError::Socket {
            action,
            path: path.to_owned(),
            source,
        }
    };
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_socket() => {
            if tokio::net::UnixStream::connect(path).await.is_ok() {
                return Err(WorkloadError::SocketInUse {
                    path: path.to_owned(),
                });
            }
            std::fs::remove_file(path).map_err(socket_error("remove the stale"))?;
        }
        Ok(_) => {
            return Err(WorkloadError::NotASocket {
                path: path.to_owned(),
            });
        }
        Err(error) if error.kind() == ErrorKind::NotFound => {}
        Err(error) => return Err(socket_error("inspect")(error)),
    }
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(socket_error("create the directory of"))?;
    }
    let listener = UnixListener::bind(path).map_err(socket_error("bind"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))
        .map_err(socket_error("set the mode of"))?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replaces_a_stale_socket_and_refuses_a_live_one_or_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/api.sock");
        let first = bind(&path).await.unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, SOCKET_MODE);
        let error = bind(&path).await.unwrap_err();
        assert!(
            matches!(error, WorkloadError::SocketInUse { .. }),
            "{error}"
        );
        drop(first);
        let _second = bind(&path).await.unwrap();

        let file = dir.path().join("file");
        std::fs::write(&file, "keep me").unwrap();
        let error = bind(&file).await.unwrap_err();
        assert!(matches!(error, WorkloadError::NotASocket { .. }), "{error}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    }
}
